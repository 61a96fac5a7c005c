"""Benchmark: a stream's audience. The HLS viewing check (nginx's auth_request to the portal) beside a bare
view in the same run, with 1,000 viewer pages' websockets open, and how fast the watching count reaches them.

Usage (from the repository root, PostgreSQL and Redis on 127.0.0.1; run under `flock /tmp/bench.lock`):

    .venv/bin/python bench/viewers.py                    # 1,000 viewers, 64 connections, 10 s per scenario
    .venv/bin/python bench/viewers.py --viewers 200 -d 5

It uses the join benchmark's database and institution (BENCH_DATABASE_URL, default
postgres://postgres@127.0.0.1:5432/auditorium_bench; BENCH_REDIS_URL, default redis://127.0.0.1:6379/8),
adds a room whose stream only members may watch, starts gunicorn (HTTP) and Daphne (websockets) on free
ports of 127.0.0.1 and stops them at the end. Steps:

1. `--viewers` websockets to the viewer page's socket (/ws/<tenant>/rooms/<room>/live/), signed in.
2. Scenarios, one after the other, `-c` keep-alive connections each: `bare` (GET /bench/bare, the full
   middleware stack, no database) and `hls-auth` (GET /streams/hls-auth as nginx asks it for a playlist: the
   file in X-Original-URI, the viewer's pass in X-Stream-Pass). An audience polls its playlist about every
   2 s (hls_fragment), so 1,000 viewers need about 500 checks/s.
3. The watching count: a probe socket connects, then disconnects, `--changes` times; for each change, the
   time until every open viewer socket has the new number.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # this checkout before any installed copy
import join as joinbench  # the join benchmark's server and database helpers

HOST = joinbench.HOST
ROOM = "bench-stream"


def prepare(viewers: int) -> dict[str, Any]:
    import django

    django.setup()
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from meetings.models import Room
    from meetings.streams import passes, services
    from tenants.models import Membership, User

    tenant = joinbench.bench_tenant()
    user, _ = User.objects.get_or_create(username="bench-stream-viewer")
    Membership.objects.get_or_create(user=user, tenant=tenant)
    room, _ = Room.objects.get_or_create(
        tenant=tenant,
        name=ROOM,
        defaults={"title": "Bench stream", "owner": user, "allow_livestreaming": True},
    )
    stream = services.enable_stream(actor=user, room=room)
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return {
        "tenant": tenant.slug,
        "path": stream.path,
        "pass": passes.issue(stream.path, stream.pass_epoch),
        "cookie": session.session_key,
    }


# --- HTTP scenarios ---


class Result:
    def __init__(self, name: str) -> None:
        self.name = name
        self.latencies: list[float] = []
        self.errors = 0
        self.seconds = 0.0

    def line(self) -> str:
        rate = len(self.latencies) / self.seconds if self.seconds else 0.0
        p50 = joinbench_pct(self.latencies, 50) * 1000
        p99 = joinbench_pct(self.latencies, 99) * 1000
        return f"{self.name:9} {rate:8.0f}/s  p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  errors {self.errors}"

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


def joinbench_pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def http_worker(port: int, request: bytes, result: Result, record_from: float, stop_at: float) -> None:
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        while (started := time.perf_counter()) < stop_at:
            writer.write(request)
            try:
                status, closes = await asyncio.wait_for(joinbench.read_response(reader), timeout=30)
            except (TimeoutError, asyncio.IncompleteReadError, ConnectionError):
                result.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
                continue
            if started >= record_from:
                if status in (200, 204):
                    result.latencies.append(time.perf_counter() - started)
                else:
                    result.errors += 1
            if closes:
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
    finally:
        writer.close()


async def scenario(name: str, port: int, request: bytes, connections: int, seconds: float) -> Result:
    result = Result(name)
    now = time.perf_counter()
    record_from, stop_at = now + 1.0, now + 1.0 + seconds
    await asyncio.gather(
        *(http_worker(port, request, result, record_from, stop_at) for _ in range(connections))
    )
    result.seconds = seconds
    return result


# --- websockets ---


class Viewers:
    def __init__(self) -> None:
        self.counts: list[int] = []  # newest watching number per viewer
        self.changed_at: list[float] = []
        self.tasks: list[asyncio.Task[None]] = []
        self.retries = 0
        self.last_error = ""

    async def viewer(self, i: int, url: str, origin: str, cookie: str, opened: asyncio.Semaphore) -> None:
        """One viewer page's socket; a refused or timed-out handshake is retried, as the page does."""
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake

        for attempt in range(6):
            try:
                async with connect(
                    url,
                    origin=origin,  # type: ignore[arg-type]  # a plain string is what the library sends
                    additional_headers={"Cookie": f"sessionid={cookie}"},
                    compression=None,
                    open_timeout=120,
                ) as socket:
                    opened.release()
                    async for message in socket:
                        data = json.loads(message)
                        if data.get("type") == "watching":
                            self.counts[i] = data["count"]
                            self.changed_at[i] = time.perf_counter()
                return
            except (OSError, InvalidHandshake, TimeoutError) as exc:
                if attempt == 5:
                    raise
                self.retries += 1
                self.last_error = repr(exc)
                await asyncio.sleep(0.5 * 2**attempt)

    async def open(self, n: int, url: str, origin: str, cookie: str, rate: float) -> None:
        self.counts = [-1] * n
        self.changed_at = [0.0] * n
        opened = asyncio.Semaphore(0)
        for i in range(n):
            self.tasks.append(asyncio.create_task(self.viewer(i, url, origin, cookie, opened)))
            if i % 25 == 24:
                await asyncio.sleep(25 / rate)  # a class arriving at `rate` per second, not one SYN flood
        for _ in range(n):
            await asyncio.wait_for(opened.acquire(), timeout=120)

    async def wait_all(self, count: int, timeout: float) -> bool:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            if all(c == count for c in self.counts):
                return True
            await asyncio.sleep(0.005)
        return False


async def watching_changes(viewers: Viewers, url: str, origin: str, cookie: str, changes: int) -> list[float]:
    """Seconds from each change (probe connected or closed) until every viewer shows the new number."""
    from websockets.asyncio.client import connect

    base = len(viewers.counts)
    delays = []
    for _ in range(changes):
        started = time.perf_counter()
        probe = await connect(url, origin=origin, additional_headers={"Cookie": f"sessionid={cookie}"})  # type: ignore[arg-type]
        if not await viewers.wait_all(base + 1, 10):
            delays.append(float("inf"))
        else:
            delays.append(max(viewers.changed_at) - started)
        await asyncio.sleep(0.3)
        started = time.perf_counter()
        await probe.close()
        if not await viewers.wait_all(base, 10):
            delays.append(float("inf"))
        else:
            delays.append(max(viewers.changed_at) - started)
        await asyncio.sleep(0.3)
    return delays


async def run(args: argparse.Namespace, info: dict[str, Any], http_port: int, ws_port: int) -> None:
    origin = f"http://{HOST}:{ws_port}"
    url = f"ws://{HOST}:{ws_port}/ws/{info['tenant']}/rooms/{ROOM}/live/"
    viewers = Viewers()
    began = time.perf_counter()
    await viewers.open(args.viewers, url, origin, info["cookie"], args.arrivals)
    if not await viewers.wait_all(args.viewers, 30):
        print(f"not every viewer got the count {args.viewers}: {sorted(set(viewers.counts))[:5]}")
    print(
        f"{args.viewers} viewer sockets open and counted in {time.perf_counter() - began:.1f} s "
        f"({args.arrivals:.0f} arriving per second; retried handshakes: {viewers.retries})"
    )

    bare = f"GET /bench/bare HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()
    auth = (
        f"GET /streams/hls-auth HTTP/1.1\r\nHost: {HOST}\r\n"
        f"X-Original-URI: /hls/{info['path']}/index.m3u8\r\nX-Stream-Pass: {info['pass']}\r\n\r\n"
    ).encode()
    results = []
    for name, request in (("bare", bare), ("hls-auth", auth)):
        results.append(await scenario(name, http_port, request, args.connections, args.duration))
        print(results[-1].line())
    print(f"hls-auth / bare: {results[1].rate / results[0].rate:.1%} (target >= 50 %, p99 < 50 ms)")

    delays = await watching_changes(viewers, url, origin, info["cookie"], args.changes)
    print(
        f"watching count to all {args.viewers} viewers: "
        + ", ".join(f"{d * 1000:.0f}" for d in delays)
        + f" ms (max {max(delays) * 1000:.0f} ms, target < 1000 ms)"
    )
    for task in viewers.tasks:
        task.cancel()
    await asyncio.gather(*viewers.tasks, return_exceptions=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("-d", "--duration", type=float, default=10.0, help="seconds per HTTP scenario")
    parser.add_argument("--changes", type=int, default=3)
    parser.add_argument("--arrivals", type=float, default=50.0, help="viewer pages opened per second")
    parser.add_argument("--daphne-log", default=str(joinbench.ROOT / "var" / "bench-viewers-daphne.log"))
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/auditorium_bench"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"))
    args = parser.parse_args()
    args.viewers = max(1, min(args.viewers, 5000))
    args.connections = max(1, min(args.connections, joinbench.MAX_CONNECTIONS))
    args.duration = max(1.0, min(args.duration, joinbench.MAX_DURATION))

    env = joinbench.bench_env(args.database_url, args.redis_url)
    os.environ.update(env)
    joinbench.ensure_database(args.database_url)
    info = prepare(args.viewers)
    http_port, ws_port = joinbench.free_port(), joinbench.free_port()
    gunicorn = joinbench.start_server("gunicorn", http_port, env, args.workers, args.threads)
    Path(args.daphne_log).parent.mkdir(exist_ok=True)
    log = open(args.daphne_log, "ab")  # noqa: SIM115 - the child keeps its own descriptor
    daphne = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "daphne"),
            "-b",
            HOST,
            "-p",
            str(ws_port),
            "portal.asgi:application",
        ],
        cwd=joinbench.ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=log,
    )
    try:
        joinbench.wait_ready(http_port, gunicorn)
        joinbench.wait_ready(ws_port, daphne)
        print(f"gunicorn {args.workers}x{args.threads} threads, one Daphne; {os.getloadavg()[0]:.1f} load")
        asyncio.run(run(args, info, http_port, ws_port))
    finally:
        for proc in (gunicorn, daphne):
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
