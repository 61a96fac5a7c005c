"""Benchmark: joins under faults (issue 12), in one run against a private PostgreSQL and a private Redis.

Usage (from the repository root; needs initdb/pg_ctl, redis-server; run under `flock /tmp/bench.lock`):

    .venv/bin/python bench/faults.py                  # 32 connections, 8 s per phase
    .venv/bin/python bench/faults.py -c 64 -d 10 --workers 2 --threads 4

It starts its own PostgreSQL cluster and Redis on free 127.0.0.1 ports (never the shared ones), migrates and
seeds the database as bench/join.py does (a room with a running lecture, one signed-in person per connection),
starts gunicorn (2 gthread workers x 4 threads) and drives signed-in joins (POST /api/v1/rooms/<room>/join/)
through these phases, one after the other:

- redis up:           the normal figures, for comparison;
- postgresql stopped: pg_ctl stop -m fast, then start;
- redis frozen:       redis-server SIGSTOPped (a hung host), then SIGCONT;
- redis stopped:      redis-server terminated, then started again on the same port (empty);
- up again:           the normal figures after all of it.

Between phases it waits (at most 30 s) until joins answer 200 again.

For each phase: joins answered 200 per second, p50/p99 of every answer (200 or not, timeouts counted at the
client's limit of 5 s), the answers by status, and after each fault the recovery: from the service's return
to the
first 200 and to the last answer that was not 200. Targets (issue 12): at least 50 % of the normal join rate
with Redis stopped, p99 under 500 ms with Redis frozen, recovery within 2 s, no 500 in any phase.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import join as joinbench  # noqa: E402 - after the path is set
from tests.private_services import (  # noqa: E402
    PrivatePostgres,
    PrivateRedis,
    postgresql_available,
    private_postgresql,
    private_redis,
)

HOST = "127.0.0.1"
CLIENT_TIMEOUT = 5.0  # seconds: an answer slower than this counts as a timeout (status 0)
FAULTS = ["postgresql stopped", "redis frozen", "redis stopped"]
HEALTHY_WAIT = 30.0  # seconds: at most this long between phases for joins to answer 200 again


@dataclass
class Record:
    started: float
    elapsed: float
    status: int


@dataclass
class Recorder:
    records: list[Record] = field(default_factory=list)
    stop_at: float = 0.0


async def read_status(reader: asyncio.StreamReader) -> tuple[int, bool]:
    return await joinbench.read_response(reader)


async def connection(port: int, requests: list[bytes], recorder: Recorder) -> None:
    reader = writer = None
    turn = 0
    while time.monotonic() < recorder.stop_at:
        if writer is None:
            try:
                reader, writer = await asyncio.open_connection(HOST, port)
            except OSError:
                await asyncio.sleep(0.05)
                continue
        started = time.monotonic()
        writer.write(requests[turn % len(requests)])
        turn += 1
        try:
            assert reader is not None
            status, closes = await asyncio.wait_for(read_status(reader), timeout=CLIENT_TIMEOUT)
        except (TimeoutError, asyncio.IncompleteReadError, ConnectionError, ValueError):
            status, closes = 0, True
        recorder.records.append(Record(started, time.monotonic() - started, status))
        if closes:
            writer.close()
            reader = writer = None


@dataclass
class Phase:
    name: str
    start: float
    end: float  # the fault ends (the service returns) here; the phase's figures are [start, end)
    back: float | None = None  # when the service accepted connections again (faults only)
    settled: float = float("inf")  # the next phase starts here: recovery is looked for in [back, settled)


def figures(records: list[Record], phase: Phase) -> str:
    inside = [r for r in records if phase.start <= r.started < phase.end]
    seconds = max(phase.end - phase.start, 1e-9)
    ok = sum(r.status == 200 for r in inside)
    latencies = sorted(r.elapsed for r in inside)

    def pct(q: float) -> str:
        if not latencies:
            return "    -"
        return f"{latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000:7.1f}"

    statuses: dict[int, int] = {}
    for r in inside:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    recovery = "-"
    if phase.back is not None:
        # Answers still pending when the next phase began belong to it (its fault may be what holds them).
        after = [r for r in records if phase.back <= r.started and r.started + r.elapsed < phase.settled]
        first_ok = min((r.started for r in after if r.status == 200), default=None)
        last_bad = max((r.started + r.elapsed for r in after if r.status != 200), default=None)
        first = f"{first_ok - phase.back:.2f}" if first_ok is not None else "never"
        last = f"{max(0.0, last_bad - phase.back):.2f}" if last_bad is not None else "0.00"
        failing: dict[int, int] = {}
        for r in after:
            if r.status != 200:
                failing[r.status] = failing.get(r.status, 0) + 1
        shown = " ".join(f"{k or 'timeout'}:{v}" for k, v in sorted(failing.items())) or "none"
        recovery = f"first 200 {first} s, last failure {last} s (failures after: {shown})"
    rendered = " ".join(f"{k or 'timeout'}:{v}" for k, v in sorted(statuses.items()))
    return f"{phase.name:<20} {ok / seconds:9.1f} {pct(0.50)} {pct(0.99)}   {rendered:<28} {recovery}"


async def run_phases(
    port: int,
    joins: list[list[bytes]],
    redis: PrivateRedis,
    pg: PrivatePostgres,
    duration: float,
    settle: float,
    faults: list[str],
) -> tuple[list[Record], list[Phase]]:
    recorder = Recorder(stop_at=float("inf"))
    tasks = [asyncio.create_task(connection(port, requests, recorder)) for requests in joins]
    phases: list[Phase] = []
    loop = asyncio.get_running_loop()

    async def phase(name: str, fault: str | None) -> None:
        start = time.monotonic()
        if fault == "redis frozen":
            redis.freeze()
        elif fault == "redis stopped":
            await loop.run_in_executor(None, redis.stop)
        elif fault == "postgresql stopped":
            await loop.run_in_executor(None, pg.stop)
        await asyncio.sleep(duration)
        end = time.monotonic()
        back = None
        if fault == "redis frozen":
            redis.thaw()
            back = time.monotonic()
        elif fault == "redis stopped":
            await loop.run_in_executor(None, redis.start)
            back = time.monotonic()
        elif fault == "postgresql stopped":
            await loop.run_in_executor(None, pg.start)
            back = time.monotonic()
        current = Phase(name, start, end, back)
        phases.append(current)
        if fault is not None:
            await asyncio.sleep(settle)  # recovery is measured here
            await healthy()  # the next phase starts from a portal that answers again
            current.settled = time.monotonic()

    async def healthy() -> None:
        """Until every connection had a 200 after this moment (or HEALTHY_WAIT passed)."""
        since = time.monotonic()
        while time.monotonic() - since < HEALTHY_WAIT:
            recent = [r for r in recorder.records if r.started >= since]
            if len(recent) >= len(joins) and all(r.status == 200 for r in recent[-len(joins) :]):
                return
            await asyncio.sleep(0.1)
        print(f"joins did not all answer 200 again within {HEALTHY_WAIT:.0f} s; going on", file=sys.stderr)

    await asyncio.sleep(2.0)  # warm-up: every process's copies and connections
    await phase("redis up", None)
    # PostgreSQL first: a Redis fault that leaves the server in trouble does not blur its figures.
    for fault in faults:
        await phase(fault, fault)
    await phase("up again", None)
    recorder.stop_at = 0.0
    await asyncio.wait(tasks, timeout=CLIENT_TIMEOUT + 5)
    return recorder.records, phases


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-c", "--connections", type=int, default=32)
    parser.add_argument("-d", "--duration", type=float, default=8.0, help="seconds per phase")
    parser.add_argument("--settle", type=float, default=4.0, help="seconds after each fault ends")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument(
        "--faults",
        default=",".join(FAULTS),
        help=f"comma-separated, in this order (default: all: {','.join(FAULTS)})",
    )
    args = parser.parse_args()
    faults = [f.strip() for f in args.faults.split(",") if f.strip()]
    if not faults or any(f not in FAULTS for f in faults):
        raise SystemExit(f"--faults takes some of: {', '.join(FAULTS)}")
    connections = max(1, min(args.connections, joinbench.MAX_CONNECTIONS))
    duration = max(1.0, min(args.duration, 60.0))
    if not postgresql_available():
        raise SystemExit("needs initdb, pg_ctl and postgres (and runuser when run as root)")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # `timeout` must still stop what this started

    with private_postgresql() as pg, private_redis() as redis:
        pg.create_database("bench")
        database_url, redis_url = pg.url("bench"), redis.url()
        env = joinbench.bench_env(database_url, redis_url)
        os.environ.update(env)  # this process seeds through the ORM with the server's settings
        import subprocess

        subprocess.run(
            [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
        )
        from django_scopes import scopes_disabled

        with scopes_disabled():  # the benchmark's own data, as bench/join.py seeds it
            sessions = joinbench.seed(connections)
        from django.db import connections as django_connections

        django_connections.close_all()  # the phases stop PostgreSQL: this process holds nothing open
        port = joinbench.free_port()
        proc = joinbench.start_server("gunicorn", port, env, args.workers, args.threads)
        try:
            joinbench.wait_ready(port, proc)
            joins = [
                joinbench.join_turns(sessions[i::connections], i, connections) for i in range(connections)
            ]
            print(
                f"gunicorn {args.workers} gthread workers x {args.threads} threads, "
                f"{connections} connections, "
                f"{duration:.0f} s per phase, private PostgreSQL :{pg.port} and Redis :{redis.port}, "
                f"{os.cpu_count()} CPUs, load average before {os.getloadavg()[0]:.1f}"
            )
            records, phases = asyncio.run(run_phases(port, joins, redis, pg, duration, args.settle, faults))
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(
        f"{'phase':<20} {'joins/s':>9} {'p50 ms':>7} {'p99 ms':>7}   {'answers':<28} recovery after the fault"
    )
    for phase in phases:
        print(figures(records, phase))
    normal = phases[0]
    ok = [r for r in records if normal.start <= r.started < normal.end and r.status == 200]
    base = len(ok) / (normal.end - normal.start)
    for phase in phases[1:-1]:  # the faults
        inside = [r for r in records if phase.start <= r.started < phase.end and r.status == 200]
        rate = len(inside) / (phase.end - phase.start)
        print(f"{phase.name:<20} {rate / base if base else 0:6.1%} of the normal join rate")
    print(f"500 answers in all phases: {sum(r.status == 500 for r in records)}")
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
