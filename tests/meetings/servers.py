"""Start real Daphne server processes on free 127.0.0.1 ports (for the end-to-end test and the benchmarks)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def database_url() -> str:
    """The URL of the database this process uses right now (pytest-django's test_<name> inside tests)."""
    s = connection.settings_dict
    auth = s["USER"] or "postgres"
    if s.get("PASSWORD"):
        auth += f":{s['PASSWORD']}"
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def server_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "DATABASE_URL": database_url(),
            "REDIS_URL": os.environ.get("REDIS_URL", ""),
            "SECRET_KEY": os.environ.get("SECRET_KEY", "insecure-test-only-key"),
            "DEBUG": "0",
            "SECURE": "0",
            "STATIC_MANIFEST": "0",
            "ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DB_CONN_MAX_AGE": "0",
            "LOG_LEVEL": "WARNING",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class Server:
    def __init__(self, port: int, process: subprocess.Popen[bytes], log: Path) -> None:
        self.port = port
        self.process = process
        self.log = log

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def rss_kib(self) -> int:
        for line in Path(f"/proc/{self.process.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
        return 0


def _wait_ready(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"daphne exited: {server.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{server.http}/healthz", timeout=10) as response:  # noqa: S310
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"daphne on {server.port} did not answer: {server.log.read_text()[-2000:]}")


def start_server(port: int, log: Path, *, app: str = "portal.asgi:application", **env: str) -> Server:
    """One Daphne process on 127.0.0.1:<port>, answering once this returns."""
    with log.open("ab") as out:  # the child keeps its own copy of the descriptor
        process = subprocess.Popen(
            [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app],
            cwd=ROOT,
            env=server_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, process, log)
    try:
        _wait_ready(server)
    except BaseException:
        stop_server(server)
        raise
    return server


def stop_server(server: Server) -> None:
    server.process.terminate()
    try:
        server.process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()


@contextmanager
def gunicorn_server(log_dir: Path, *, threads: int = 4, **env: str) -> Iterator[list[Server]]:
    """One gunicorn process (gthread, one worker) serving portal.wsgi on a free 127.0.0.1 port."""
    port = free_port()
    log = log_dir / "gunicorn.log"
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "portal.wsgi:application",
                f"--bind=127.0.0.1:{port}",
                "--workers=1",
                "--worker-class=gthread",
                f"--threads={threads}",
                "--keep-alive=30",
            ],
            cwd=ROOT,
            env=server_env(**env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, process, log)
    try:
        _wait_ready(server)
        yield [server]
    finally:
        stop_server(server)


@contextmanager
def daphne_servers(
    count: int, log_dir: Path, *, app: str = "portal.asgi:application", **env: str
) -> Iterator[list[Server]]:
    servers: list[Server] = []
    try:
        for i in range(count):
            servers.append(start_server(free_port(), log_dir / f"daphne-{i}.log", app=app, **env))
        yield servers
    finally:
        for server in servers:
            stop_server(server)
