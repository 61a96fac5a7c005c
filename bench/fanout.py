"""Live-count fan-out: 1,000 websocket viewers of one room over two Daphne processes sharing Redis.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/auditorium_live_bench REDIS_URL=redis://127.0.0.1:6379/4 \
        .venv/bin/python bench/fanout.py [--viewers 1000] [--workers 4] [--seconds 10]

Starts two Daphne processes on free 127.0.0.1 ports (same database, same Redis), spreads the viewers evenly
over them (held by client worker processes), and posts Prosody `occupant/joined` events for the room, each
raising the count by one, to a gunicorn process as in production (plain HTTP through gunicorn, websockets
through Daphne; `--events-to daphne` posts them to the second Daphne process instead).
For each event and viewer it measures the time from just before the POST until that viewer shows that count
or a newer one (coalescing may skip numbers: the latest wins).
Reports:

- delivery latency p50/p99/max at a light rate and at 20 events/s sustained (the target: p99 <= 100 ms);
- a rate step-up (20, 40, 80, ... events/s) and the highest rate whose p99 stays within 100 ms;
- memory per idle viewer: growth of the server processes' RSS from before the viewers connected to after;
- baseline in the same run: Redis PUBLISH to as many plain Redis subscribers, spread over the same workers.

Everything binds 127.0.0.1; the run is bounded (counts and seconds from the arguments).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import http.client
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # - after the path set-up


def _command(*args: str) -> bytes:
    return b"".join(
        [f"*{len(args)}\r\n".encode()] + [b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in args]
    )


async def _read_reply(reader: asyncio.StreamReader) -> Any:
    line = await reader.readuntil(b"\r\n")
    kind, rest = line[:1], line[1:-2]
    if kind == b"*":
        return [await _read_reply(reader) for _ in range(int(rest))]
    if kind == b"$":
        return (await reader.readexactly(int(rest) + 2))[:-2]
    return rest


# --- worker processes (hold the viewers) ---


async def _ws_viewer(
    url: str, origin: str, cookie: str, records: list, ready: asyncio.Event, counter: list
) -> None:
    from websockets.asyncio.client import connect

    async with connect(
        url,
        origin=origin,
        additional_headers={"Cookie": f"sessionid={cookie}"},
        compression=None,
        open_timeout=120,
    ) as socket:
        first = json.loads(await socket.recv())
        records.append((first["count"], time.time()))
        counter[0] += 1
        if counter[0] == counter[1]:
            ready.set()
        async for message in socket:
            records.append((json.loads(message)["count"], time.time()))


async def _redis_viewer(
    redis_url: str, channel: str, records: list, ready: asyncio.Event, counter: list
) -> None:
    from urllib.parse import urlsplit

    url = urlsplit(redis_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port or 6379)
    writer.write(_command("SUBSCRIBE", channel))
    await _read_reply(reader)
    counter[0] += 1
    if counter[0] == counter[1]:
        ready.set()
    try:
        while True:
            reply = await _read_reply(reader)
            if reply[0] == b"message":
                records.append((int(reply[2]), time.time()))
    finally:
        writer.close()


async def _worker(args: argparse.Namespace) -> None:
    targets = json.loads(args.targets)
    ready = asyncio.Event()
    counter = [0, len(targets)]
    per_viewer: list[list] = [[] for _ in targets]
    gate = asyncio.Semaphore(16)  # connects in flight: the servers do a handshake and a few queries each

    async def start(i: int, target: dict) -> None:
        async with gate:
            if args.mode == "ws":
                task = asyncio.create_task(
                    _ws_viewer(target["url"], target["origin"], args.cookie, per_viewer[i], ready, counter)
                )
            else:
                task = asyncio.create_task(
                    _redis_viewer(args.redis, args.channel, per_viewer[i], ready, counter)
                )
            while len(per_viewer[i]) == 0 and args.mode == "ws" and not task.done():
                await asyncio.sleep(0.005)
            tasks.append(task)

    tasks: list[asyncio.Task] = []
    await asyncio.gather(*(start(i, t) for i, t in enumerate(targets)))
    failed = [t for t in tasks if t.done() and t.exception() is not None]
    if failed:
        print(f"error {failed[0].exception()!r} ({len(failed)} viewers failed)", flush=True)
        return
    await asyncio.wait_for(ready.wait(), timeout=300)
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.readline)  # "stop"
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(per_viewer), flush=True)


# --- the coordinator ---


class Workers:
    def __init__(self, mode: str, targets: list[dict], count: int, ctx: dict, channel: str = "") -> None:
        self.procs = []
        for i in range(count):
            mine = targets[i::count]
            self.procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        __file__,
                        "--worker",
                        "--mode",
                        mode,
                        "--targets",
                        json.dumps(mine),
                        "--cookie",
                        ctx.get("cookie", ""),
                        "--redis",
                        ctx.get("redis", ""),
                        "--channel",
                        channel,
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )

    def wait_ready(self) -> None:
        for proc in self.procs:
            line = proc.stdout.readline()  # type: ignore[union-attr]
            if line.strip() != "ready":
                raise RuntimeError(f"worker failed: {line!r}")

    def collect(self) -> list[list]:
        viewers: list[list] = []
        for proc in self.procs:
            proc.stdin.write("stop\n")  # type: ignore[union-attr]
            proc.stdin.flush()  # type: ignore[union-attr]
        for proc in self.procs:
            out, _ = proc.communicate(timeout=120)
            viewers.extend(json.loads(out.strip().splitlines()[-1]))
        return viewers


def latencies(posts: dict[int, float], viewers: list[list]) -> tuple[list[float], int]:
    """Per (event, viewer): seconds until the viewer showed that count or a newer one; and how many never."""
    result: list[float] = []
    missing = 0
    values = sorted(posts)
    for records in viewers:
        records = sorted(records, key=lambda r: r[1])
        i = 0
        for value in values:
            while i < len(records) and records[i][0] < value:
                i += 1
            if i == len(records):
                missing += 1
                continue
            result.append(records[i][1] - posts[value])
    return result, missing


def summary(name: str, posts: dict[int, float], viewers: list[list], seconds: float) -> dict[str, Any]:
    values, missing = latencies(posts, viewers)
    row = {
        "phase": name,
        "events": len(posts),
        "achieved_rate": round(len(posts) / seconds, 1) if seconds else None,
        "deliveries": len(values),
        "missing": missing,
        "p50_ms": round(common.percentile(values, 50) * 1000, 1),
        "p99_ms": round(common.percentile(values, 99) * 1000, 1),
        "max_ms": round(max(values) * 1000, 1) if values else None,
    }
    print(json.dumps(row), flush=True)
    return row


def run_phase(post, start_value: int, rate: float, seconds: float) -> tuple[dict[int, float], int, float]:
    """Post events at `rate` per second for `seconds`; returns post times by count value."""
    posts: dict[int, float] = {}
    n = int(rate * seconds)
    value = start_value
    began = time.monotonic()
    for k in range(n):
        due = began + k / rate
        delay = due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        value += 1
        posts[value] = time.time()
        post(value)
    elapsed = time.monotonic() - began
    time.sleep(1.5)  # let the last deliveries arrive
    return posts, value, elapsed


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--worker", action="store_true")
    parser.add_argument("--mode", default="ws")
    parser.add_argument("--targets", default="[]")
    parser.add_argument("--cookie", default="")
    parser.add_argument("--redis", default="")
    parser.add_argument("--channel", default="")
    parser.add_argument("--viewers", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=10.0, help="duration of the 20 events/s phase")
    parser.add_argument("--steps", default="40,80,160,320", help="rates (events/s) of the step-up, 4 s each")
    parser.add_argument("--memory-only", action="store_true", help="connect, measure RSS, stop")
    parser.add_argument("--asgi", default="portal.asgi:application", help="the ASGI application to serve")
    parser.add_argument("--events-to", choices=["gunicorn", "daphne"], default="gunicorn")
    args = parser.parse_args()
    if args.worker:
        asyncio.run(_worker(args))
        return

    import os

    ctx = common.setup(rooms=1)
    ctx["redis"] = os.environ["REDIS_URL"]
    room = ctx["rooms"][0]
    from tests.meetings.servers import daphne_servers, gunicorn_server

    print(f"# {common.load()}", flush=True)
    results: dict[str, Any] = {"viewers": args.viewers, "workers": args.workers, "asgi": args.asgi}
    tmp = tempfile.mkdtemp(prefix="bench-fanout-")
    print(f"# server logs in {tmp}", flush=True)
    events_server = (
        gunicorn_server(Path(tmp), threads=2, DB_CONN_MAX_AGE="60")
        if args.events_to == "gunicorn"
        else contextlib.nullcontext(None)
    )
    results["events_to"] = args.events_to
    with (
        daphne_servers(2, Path(tmp), app=args.asgi, DB_CONN_MAX_AGE="60") as servers,
        events_server as http_servers,
    ):
        # Warm up each server with one viewer (imports, connection pools), then take the RSS baseline.
        warm = Workers(
            "ws",
            [{"url": f"{s.ws}/ws/{ctx['tenant']}/rooms/{room}/", "origin": s.http} for s in servers],
            1,
            ctx,
        )
        warm.wait_ready()
        warm.collect()
        time.sleep(1)
        rss_before = [s.rss_kib() for s in servers]
        targets = [
            {"url": f"{s.ws}/ws/{ctx['tenant']}/rooms/{room}/", "origin": s.http}
            for i in range(args.viewers)
            for s in [servers[i % len(servers)]]
        ]
        began = time.monotonic()
        workers = Workers("ws", targets, args.workers, ctx)
        workers.wait_ready()
        connect_seconds = time.monotonic() - began
        time.sleep(3)  # idle
        rss_after = [s.rss_kib() for s in servers]
        per_server = args.viewers / len(servers)
        results["connect_seconds"] = round(connect_seconds, 1)
        results["rss_before_kib"] = rss_before
        results["rss_after_kib"] = rss_after
        results["kib_per_idle_viewer"] = [
            round((a - b) / per_server, 1) for a, b in zip(rss_after, rss_before, strict=True)
        ]
        print(
            json.dumps(
                {
                    k: results[k]
                    for k in ("connect_seconds", "rss_before_kib", "rss_after_kib", "kib_per_idle_viewer")
                }
            ),
            flush=True,
        )

        if args.memory_only:
            workers.collect()
            return
        target = http_servers[0] if http_servers else servers[1]
        conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=30)

        def post(value: int) -> None:
            conn.request(
                "POST",
                f"/jitsi/{ctx['deployment']}/events/occupant/joined",
                body=common.joined_body(room, value),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {common.BENCH_SECRET}",
                },
            )
            response = conn.getresponse()
            response.read()
            if response.status != 200:
                raise RuntimeError(f"event refused: {response.status}")

        phases: list[tuple[str, dict[int, float], float]] = []
        # Warm-up (not counted): the first events open database connections and fill caches in both servers.
        _posts, value, _elapsed = run_phase(post, 0, 5.0, 2.0)
        plan = [("light 5/s", 5.0, 5.0), ("sustained 20/s", 20.0, args.seconds)]
        plan += [(f"step {r}/s", float(r), 4.0) for r in args.steps.split(",") if r]
        for name, rate, seconds in plan:
            posts, value, elapsed = run_phase(post, value, rate, seconds)
            phases.append((name, posts, elapsed))
        conn.close()
        viewers = workers.collect()
        results["phases"] = [summary(name, posts, viewers, el) for name, posts, el in phases]
        print(f"# {common.load()}", flush=True)

    # Baseline: Redis PUBLISH straight to as many plain subscribers, through the same worker processes.
    import redis

    channel = f"bench-baseline-{time.time_ns()}"
    base_workers = Workers("redis", [{}] * args.viewers, args.workers, ctx, channel=channel)
    base_workers.wait_ready()
    client = redis.Redis.from_url(ctx["redis"])
    base_phases = []
    _posts, value, _elapsed = run_phase(lambda v: client.publish(channel, str(v)), 0, 5.0, 2.0)
    for name, rate, seconds in [("baseline light 5/s", 5.0, 5.0), ("baseline 20/s", 20.0, args.seconds)] + [
        (f"baseline step {r}/s", float(r), 4.0) for r in args.steps.split(",") if r
    ]:
        posts, value, elapsed = run_phase(lambda v: client.publish(channel, str(v)), value, rate, seconds)
        base_phases.append((name, posts, elapsed))
    viewers = base_workers.collect()
    results["baseline"] = [summary(name, posts, viewers, el) for name, posts, el in base_phases]
    good = [p for p in results["phases"] if p["p99_ms"] <= 100 and p["missing"] == 0]
    results["highest_rate_within_100ms_p99"] = max((p["achieved_rate"] for p in good), default=None)
    print(f"# {common.load()}", flush=True)
    print(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
