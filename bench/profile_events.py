"""In-process CPU per Prosody event against the baseline view, and where an event's CPU goes.

Usage (from the repository root, PostgreSQL and Redis on 127.0.0.1, the bench database of bench/events.py):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/auditorium_live_bench REDIS_URL=redis://127.0.0.1:6379/4 \
        .venv/bin/python bench/profile_events.py [--rounds 3] [--count 1000] [--profile events|baseline]

Calls portal.wsgi's application directly, one request after another in one thread (no server, no network
client in the process): `occupant/joined` and `occupant/left` events through the lean /jitsi/ handler, and
the baseline `GET /bench/select` (one `SELECT 1` through the full middleware; `--baseline /healthz` on a
checkout from before it existed). Prints CPU ms per request; `--profile` adds a cProfile (CPU time) of 2,000
requests, by cumulative time. The CPU of PostgreSQL and Redis is not counted (other processes).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

os.environ.setdefault("ALLOWED_HOSTS", "127.0.0.1")
os.environ.setdefault("BENCH_VIEWS", "1")

import common  # - after the environment


def environ(method: str, path: str, body: bytes = b"", auth: str = "") -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "127.0.0.1",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
    }
    if body:
        env["CONTENT_TYPE"] = "application/json"
    if auth:
        env["HTTP_AUTHORIZATION"] = auth
    return env


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--baseline", default="/bench/select")
    parser.add_argument("--profile", choices=["events", "baseline"])
    args = parser.parse_args()
    ctx = common.setup(rooms=50)
    from portal.wsgi import application

    def call(env: dict[str, Any]) -> None:
        status: list[str] = []
        b"".join(application(env, lambda s, h, *a: status.append(s)))
        if not status[0].startswith("200"):
            raise RuntimeError(f"{env['PATH_INFO']}: {status[0]}")

    n = [0]

    def event() -> None:
        i = n[0]
        n[0] += 1
        room = ctx["rooms"][i % len(ctx["rooms"])]
        kind = "occupant/joined" if i % 2 == 0 else "occupant/left"
        now = int(time.time())
        occupant: dict[str, Any] = {
            "occupant_jid": f"p{i // 2}-{os.getpid()}-{now}@meet.bench.example.org/b",
            "joined_at": now,
            "id": "bench",
        }
        if kind == "occupant/left":
            occupant["left_at"] = now
        body = {
            "room_jid": f"{room}@conference.meet.bench.example.org",
            "is_breakout": False,
            "event_name": "muc-" + kind.replace("/", "-"),
            "room_name": room,
            "occupant": occupant,
            "active_occupants_count": (i // 2) % 40 + (kind == "occupant/joined"),
        }
        call(
            environ(
                "POST",
                f"/jitsi/{ctx['deployment']}/events/{kind}",
                json.dumps(body).encode(),
                f"Bearer {common.BENCH_SECRET}",
            )
        )

    def baseline() -> None:
        call(environ("GET", args.baseline))

    def measure(fn: Callable[[], None]) -> float:
        for _ in range(50):
            fn()
        began = time.process_time()
        for _ in range(args.count):
            fn()
        return (time.process_time() - began) / args.count * 1000

    print(f"# {common.load()}", flush=True)
    for _ in range(args.rounds):
        base, events = measure(baseline), measure(event)
        print(
            json.dumps(
                {
                    "baseline_cpu_ms": round(base, 3),
                    "event_cpu_ms": round(events, 3),
                    "ratio": round(events / base, 2),
                }
            ),
            flush=True,
        )
    if args.profile:
        fn = event if args.profile == "events" else baseline
        profile = cProfile.Profile(time.process_time)
        profile.enable()
        for _ in range(2000):
            fn()
        profile.disable()
        out = io.StringIO()
        pstats.Stats(profile, stream=out).sort_stats("cumulative").print_stats(45)
        print(out.getvalue())


if __name__ == "__main__":
    main()
