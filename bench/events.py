"""Event ingestion rate of one server process: Prosody events posted to /jitsi/<deployment>/events/...

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/auditorium_live_bench REDIS_URL=redis://127.0.0.1:6379/4 \
        .venv/bin/python bench/events.py [--seconds 8] [--clients 8] [--rooms 50] [--server gunicorn|daphne]

Starts one server process on a free 127.0.0.1 port (by default gunicorn with gthread workers, where plain
HTTP such as Prosody's events goes in production; `--server daphne` for the ASGI server) and drives it from
client processes with keep-alive connections for a fixed time each:
- baseline: GET /bench/select, one `SELECT 1` through the portal's full middleware (portal/bench_views.py,
  served with BENCH_VIEWS=1, which this sets for its server). It was /healthz while /healthz ran that query;
  a liveness check without one would make the ratio meaningless;
- events: `occupant/joined` then `occupant/left` for ever new occupants, spread over `--rooms` known rooms
  (so every event changes a count and publishes it to Redis after commit).
Prints requests per second, latency p50/p99, and the ratio events/baseline. Bounded in time; 127.0.0.1 only.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common  # - after the path set-up


def client(port: int, mode: str, seconds: float, rooms: list[str], deployment: str, offset: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies: list[float] = []
    errors = 0
    n = 0
    stop = time.monotonic() + seconds
    domain = "meet.bench.example.org"
    while time.monotonic() < stop:
        began = time.perf_counter()
        if mode == "baseline":
            conn.request("GET", "/bench/select")
        else:
            room = rooms[(offset + n) % len(rooms)]
            person = f"p{offset}-{n // 2}-{os.getpid()}@{domain}/bench"
            now = int(time.time())
            occupant = {"occupant_jid": person, "joined_at": now, "id": "bench"}
            kind = "occupant/joined" if n % 2 == 0 else "occupant/left"
            if kind == "occupant/left":
                occupant["left_at"] = now
            body = {
                "room_jid": f"{room}@conference.{domain}",
                "is_breakout": False,
                "event_name": "muc-" + kind.replace("/", "-"),
                "room_name": room,
                "occupant": occupant,
                # Prosody always sends the count; any plausible value will do for the rate.
                "active_occupants_count": (n // 2) % 40 + (1 if kind == "occupant/joined" else 0),
            }
            conn.request(
                "POST",
                f"/jitsi/{deployment}/events/{kind}",
                body=json.dumps(body, separators=(",", ":")).encode(),
                headers={
                    "Content-Type": "application/json",
                    "Authorization": f"Bearer {common.BENCH_SECRET}",
                },
            )
        response = conn.getresponse()
        response.read()
        if response.status != 200:
            errors += 1
        latencies.append(time.perf_counter() - began)
        n += 1
    print(json.dumps({"n": n, "errors": errors, "latencies": latencies}))


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its children (gunicorn's master and worker), in seconds."""
    total = 0.0
    pids = [pid]
    while pids:
        current = pids.pop()
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
            for task in Path(f"/proc/{current}/task").iterdir():
                pids += [int(c) for c in (task / "children").read_text().split()]
        except (FileNotFoundError, ProcessLookupError):
            continue
    return total


def run(port: int, mode: str, args: argparse.Namespace, ctx: dict, pid: int = 0) -> dict:
    cpu_before = cpu_seconds(pid) if pid else 0.0
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--client",
                str(port),
                mode,
                str(args.seconds),
                json.dumps(ctx["rooms"]),
                ctx["deployment"],
                str(i * 1_000_000),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for i in range(args.clients)
    ]
    outs = [json.loads(p.communicate(timeout=args.seconds + 60)[0]) for p in procs]
    cpu = cpu_seconds(pid) - cpu_before if pid else 0.0
    lat = [x for o in outs for x in o["latencies"]]
    total = sum(o["n"] for o in outs)
    row = {
        "mode": mode,
        "requests": total,
        "errors": sum(o["errors"] for o in outs),
        "per_second": round(total / args.seconds, 1),
        "p50_ms": round(common.percentile(lat, 50) * 1000, 2),
        "p99_ms": round(common.percentile(lat, 99) * 1000, 2),
        # The server's own CPU time per request: what one process could do with a whole core to itself
        # (the machine's other load and the client processes share the same cores during the run).
        "server_cpu_ms": round(cpu / total * 1000, 3) if total else None,
        "per_server_cpu_second": round(total / cpu, 1) if cpu else None,
    }
    print(json.dumps(row), flush=True)
    return row


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--client":
        port, mode, seconds, rooms, deployment, offset = sys.argv[2:8]
        client(int(port), mode, float(seconds), json.loads(rooms), deployment, int(offset))
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rooms", type=int, default=50)
    parser.add_argument("--server", choices=["gunicorn", "daphne"], default="gunicorn")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads (one worker process)")
    args = parser.parse_args()
    ctx = common.setup(rooms=args.rooms)
    from tests.meetings.servers import daphne_servers, gunicorn_server

    print(f"# {common.load()}", flush=True)
    tmp = tempfile.mkdtemp(prefix="bench-events-")
    print(f"# server log in {tmp}", flush=True)
    if args.server == "gunicorn":
        # One worker process: the figure is per process. Persistent connections, one per thread.
        servers = gunicorn_server(Path(tmp), threads=args.threads, DB_CONN_MAX_AGE="60", BENCH_VIEWS="1")
    else:
        servers = daphne_servers(1, Path(tmp), DB_CONN_MAX_AGE="60", BENCH_VIEWS="1")
    with servers as (server,):
        run(server.port, "baseline", argparse.Namespace(seconds=1.0, clients=2), ctx)  # warm-up
        run(server.port, "events", argparse.Namespace(seconds=1.0, clients=2), ctx)  # warm-up
        base = run(server.port, "baseline", args, ctx, server.process.pid)
        events = run(server.port, "events", args, ctx, server.process.pid)
    print(f"# {common.load()}", flush=True)
    ratio = round(events["per_second"] / base["per_second"], 2)
    print(
        json.dumps(
            {"server": args.server, "baseline": base, "events": events, "ratio_events_to_baseline": ratio}
        )
    )


if __name__ == "__main__":
    main()
