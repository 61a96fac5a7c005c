"""In-process cost of one join (and of the bare view): milliseconds per request, queries and cache calls.

Usage (from the repository root, PostgreSQL and Redis on 127.0.0.1):

    .venv/bin/python bench/profile_join.py                 # timings for bare, join API, join page
    .venv/bin/python bench/profile_join.py --profile join  # plus a cProfile of the join API (top 40)

It uses the benchmark's database and seed (bench/join.py) and calls the WSGI application directly, one
request after another in one thread: no server, no network, so the figures are the application's own CPU
and round trips. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import os
import pstats
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import join as bench  # noqa: E402 - bench/join.py, next to this file

_addresses = (f"10.{i >> 16 & 255}.{i >> 8 & 255}.{i & 255}" for i in itertools.count(1))


def environ(method: str, path: str, cookie: str = "", csrf: str = "", body: bytes = b"") -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": bench.HOST,
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": bench.HOST,
        # Every request from another address: one client per address, as behind a proxy in production
        # (the API's per-address rate limit would otherwise answer 429 after its 1,200th request).
        "REMOTE_ADDR": next(_addresses),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
    }
    if body:
        env["CONTENT_TYPE"] = "application/json"
    if cookie:
        env["HTTP_COOKIE"] = cookie
    if csrf:
        env["HTTP_X_CSRFTOKEN"] = csrf
    return env


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=2000, help="requests per scenario")
    parser.add_argument("--profile", choices=["bare", "join", "page"], default="")
    parser.add_argument("--no-redis", action="store_true", help="cache in process memory instead of Redis")
    parser.add_argument("--no-series", action="store_true", help="a room without lecture series")
    parser.add_argument("--sessions", choices=["db", "cached_db", "cache"], default="")
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/auditorium_bench"),
    )
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"))
    args = parser.parse_args()
    env = bench.bench_env(args.database_url, "" if args.no_redis else args.redis_url, args.sessions)
    os.environ.update(env)
    bench.ensure_database(args.database_url)
    import subprocess

    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    import django

    django.setup()
    from django_scopes import scopes_disabled

    with scopes_disabled():  # the benchmark's own data, across the tables it seeds
        sessions = bench.seed(4, series=not args.no_series)

    from django.core.wsgi import get_wsgi_application
    from django.db import connection

    app = get_wsgi_application()
    session, csrf = sessions[0]
    cookie = f"sessionid={session}; csrftoken={csrf}"
    scenarios: dict[str, Callable[[], dict[str, Any]]] = {
        "bare": lambda: environ("GET", "/bench/bare"),
        "join": lambda: environ("POST", f"/api/v1/rooms/{bench.ROOM}/join/", cookie, csrf, b"{}"),
        "page": lambda: environ("GET", f"/{bench.TENANT}/r/{bench.ROOM}/", f"sessionid={session}"),
    }

    def call(make: Callable[[], dict[str, Any]]) -> str:
        status: list[str] = []
        body = app(make(), lambda s, h, *a: status.append(s))
        b"".join(body)
        body.close()  # type: ignore[attr-defined]  # request_finished: connection handling as in a server
        return status[0]

    queries: list[str] = []

    def count(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    for name, make in scenarios.items():
        for _ in range(50):  # warm up: compiled regexes, templates, connections
            status = call(make)
        if not status.startswith("200"):
            raise SystemExit(f"{name}: {status}")
        queries.clear()
        with connection.execute_wrapper(count):
            call(make)
        per_request = list(queries)
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(args.n):
            call(make)
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu_started
        print(
            f"{name:<5} {elapsed / args.n * 1000:7.3f} ms/request   {cpu / args.n * 1000:7.3f} ms CPU"
            f"   {len(per_request)} queries"
        )
        for sql in per_request:
            print(f"        {sql[:150]}")
        if args.profile == name:
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(args.n):
                call(make)
            profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats(
                os.environ.get("PROFILE_SORT", "cumulative")
            ).print_stats(45)
            print(out.getvalue())


if __name__ == "__main__":
    main()
