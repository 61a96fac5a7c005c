"""Private PostgreSQL clusters and Redis servers on free 127.0.0.1 ports, for tests and benchmarks that stop,
freeze and restart them (never the shared ones).

PostgreSQL's initdb and postgres refuse to run as root: as root they run as the `postgres` system user
(runuser), in a directory under /tmp that user owns."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

PG_BIN_DIRS = ["/usr/local/bin", *sorted(map(str, Path("/usr/lib/postgresql").glob("*/bin")), reverse=True)]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def pg_binary(name: str) -> str | None:
    for directory in PG_BIN_DIRS:
        path = Path(directory) / name
        if path.exists():
            return str(path)
    return shutil.which(name)


def postgresql_available() -> bool:
    if not all(pg_binary(name) for name in ("initdb", "pg_ctl", "postgres")):
        return False
    return os.geteuid() != 0 or shutil.which("runuser") is not None


def _accepts(port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout):
            return True
    except OSError:
        return False


class PrivatePostgres:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgres.log"
        self.port = port

    def url(self, database: str = "postgres") -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/{database}"

    def _run(self, *command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        return subprocess.run(
            [*prefix, *command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
            cwd=self.directory,
        )

    def init(self) -> None:
        self._run(
            str(pg_binary("initdb")), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync",
        )  # fmt: skip

    def start(self, timeout: float = 30) -> None:
        options = (
            f"-p {self.port} -k {self.directory} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off -c max_connections=100"
        )
        self._run(
            str(pg_binary("pg_ctl")), "-D", str(self.data), "-o", options, "-l", str(self.log), "-w",
            "-t", str(int(timeout)), "start", timeout=timeout + 5,
        )  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        self._run(str(pg_binary("pg_ctl")), "-D", str(self.data), "-m", mode, "-w", "stop")

    def postmaster_pid(self) -> int:
        return int((self.data / "postmaster.pid").read_text().split()[0])

    def accepts(self) -> bool:
        return _accepts(self.port)

    def create_database(self, name: str) -> None:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')  # a name chosen by the caller's own code

    def copy_database(self, source_url: str, name: str) -> None:
        """`name` here as a copy of the database at `source_url` (schema and rows), through pg_dump."""
        self.create_database(name)
        dump = subprocess.run(
            [str(pg_binary("pg_dump")), "--no-owner", "--no-privileges", "-d", source_url],
            capture_output=True, check=True, timeout=120,
        )  # fmt: skip
        subprocess.run(
            [str(pg_binary("psql")), "-q", "-v", "ON_ERROR_STOP=1", "-d", self.url(name)],
            input=dump.stdout, capture_output=True, check=True, timeout=120,
        )  # fmt: skip


@contextmanager
def private_postgresql() -> Iterator[PrivatePostgres]:
    directory = Path(tempfile.mkdtemp(prefix="auditorium-pg-"))
    if os.geteuid() == 0:
        shutil.chown(directory, "postgres", "postgres")
    server = PrivatePostgres(directory, free_port())
    try:
        server.init()
        server.start()
        yield server
    finally:
        try:
            if (server.data / "postmaster.pid").exists():
                with suppress(OSError, ValueError):
                    os.kill(server.postmaster_pid(), signal.SIGCONT)  # in case it was left frozen
                server.stop("immediate")
        finally:
            shutil.rmtree(directory, ignore_errors=True)


class PrivateRedis:
    def __init__(self, directory: Path, port: int) -> None:
        self.directory = directory
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self, timeout: float = 10) -> None:
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "redis-server", "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--save", "", "--appendonly", "no", "--dir", str(self.directory),
            ],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while not _accepts(self.port):
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("private redis-server did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def freeze(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


@contextmanager
def private_redis() -> Iterator[PrivateRedis]:
    directory = Path(tempfile.mkdtemp(prefix="auditorium-redis-"))
    server = PrivateRedis(directory, free_port())
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)
