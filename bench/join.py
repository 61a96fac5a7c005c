"""Benchmark: concurrent joins against a real server on PostgreSQL, with a bare view as the baseline.

Usage (from the repository root, PostgreSQL and Redis on 127.0.0.1):

    .venv/bin/python bench/join.py                      # 64 connections, 20 s per scenario, gunicorn gthread
    .venv/bin/python bench/join.py -c 32 -d 10 --workers 2 --threads 8
    .venv/bin/python bench/join.py --worker-class sync  # gunicorn sync workers (one request at a time each)
    .venv/bin/python bench/join.py --server daphne      # the same against Daphne, for comparison

It creates (or reuses) the database BENCH_DATABASE_URL (default
postgres://postgres@127.0.0.1:5432/auditorium_bench), migrates it, seeds a tenant "loadtest" with one room and
one signed-in member per connection, starts the server itself on a free port on 127.0.0.1 and stops it
at the end. The room has a lecture series whose lecture is running (the issue's Monday 10:15 case: the join
window is computed on every join); --no-series measures a plain room. The server runs as in production:
cache and API rate limits in Redis (BENCH_REDIS_URL, default redis://127.0.0.1:6379/8), client
addresses passed in X-Forwarded-For through one trusted proxy (so the per-address limits count per person,
as behind the reverse proxy; 50 addresses per connection, taken in turn, and every scenario starts with
empty rate windows). Scenarios, measured in the same run one after the other:

- bare:  GET /bench/bare, a view with the full middleware stack and no database (BENCH_VIEWS=1);
- bare-post: the join's own requests (POST, session and CSRF cookies and header, JSON body) to that view,
  so the ratio to it is the join's own work, not the cost of a signed-in POST through the stack;
- join:  POST /api/v1/rooms/<room>/join/ with session auth and CSRF: access check and an HS256 token;
- page:  GET /loadtest/r/<room>/, the HTML join page that embeds Jitsi (with --page).

Then the token-minting rate alone, in this process: HS256, RS256 with the parsed key cached, and RS256
parsing the PEM every time (what the cache saves). Bounded: at most 256 connections, 120 s per scenario,
and only 127.0.0.1 is ever contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MAX_CONNECTIONS = 256
MAX_DURATION = 120.0
ROOM = "bench-room"
# The benchmark's institution ("bench" is reserved: /bench/bare is the baseline view).
TENANT = "loadtest"


@dataclass
class Result:
    name: str
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    elapsed: float = 0.0
    answered: int = 0  # every response, warm-up included
    server_cpu: float = 0.0  # CPU seconds of the server's processes during the scenario

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000

    @property
    def cpu_ms(self) -> float:
        """Server CPU per request: independent of what else the machine runs, unlike req/s."""
        return self.server_cpu / self.answered * 1000 if self.answered else float("nan")

    def line(self) -> str:
        statuses = dict(sorted(self.statuses.items()))
        return (
            f"{self.name:<9} {self.rate:9.1f} req/s   p50 {self.pct(0.50):7.2f} ms"
            f"   p99 {self.pct(0.99):7.2f} ms   server CPU {self.cpu_ms:5.2f} ms/req"
            f"   ok {len(self.latencies)}  errors {self.errors}  statuses {statuses}"
        )


def cpu_seconds(root: int, children: bool = False) -> float:
    """user + system CPU of process `root` and its children (gunicorn's workers), from /proc; with `children`
    also what their own waited-for children used (xmlsec1 processes of a sign-in)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command: state, ppid, ..., utime (11), stime (12) counted from the state field.
        if int(entry) == root or int(fields[1]) == root:
            last = 15 if children else 13  # utime stime [cutime cstime]
            total += sum(int(value) for value in fields[11:last]) / ticks
    return total


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def bench_env(database_url: str, redis_url: str = "", sessions: str = "") -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY="bench-only-secret-key-not-for-production",  # noqa: S106 - a throwaway bench database
        DEBUG="0",
        SECURE="0",
        STATIC_MANIFEST="0",
        BENCH_VIEWS="1",
        ALLOWED_HOSTS=HOST,
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="portal.settings",
        # Behind one reverse proxy: the client address is the last X-Forwarded-For entry.
        API_NUM_PROXIES="1",
        CLIENT_IP_HEADER="HTTP_X_FORWARDED_FOR",
    )
    env.pop("REDIS_URL", None)
    env.pop("SESSION_ENGINE", None)
    if redis_url:  # the cache (rate limits, sessions with cached_db) and channel layer, as in production
        env.update(REDIS_URL=redis_url, CACHE_PREFIX="auditorium-bench")
    if sessions:
        env.update(SESSION_ENGINE=f"django.contrib.sessions.backends.{sessions}")
    return env


def ensure_database(database_url: str) -> None:
    import psycopg

    name = database_url.rsplit("/", 1)[-1]
    admin = database_url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            conn.execute(f'CREATE DATABASE "{name}"')


def bench_tenant() -> Any:
    """The benchmark's institution and its Jitsi deployment, made on first use (Django set up)."""
    from tenants.models import Tenant
    from tenants.services import create_tenant

    tenant = Tenant.objects.filter(slug=TENANT).first()
    if tenant is None:
        tenant = create_tenant(
            actor=None,
            slug=TENANT,
            name="Bench University",
            deployment={
                "base_url": "https://meet.bench.example.org",
                "xmpp_domain": "meet.bench.example.org",
                "app_id": "auditorium-bench",
            },
        )
    return tenant


def seed(connections: int, series: bool = True) -> list[tuple[str, str]]:
    """The bench tenant, its room (with a running lecture), and one signed-in member per connection:
    [(sessionid, csrf secret)]."""
    import django

    django.setup()
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.middleware.csrf import _get_new_csrf_string
    from django.utils import timezone

    from meetings.models import LectureSeries, Room
    from meetings.services import schedule_series
    from tenants.models import Membership, User

    tenant = bench_tenant()
    owner, _ = User.objects.get_or_create(username="bench-owner")
    room, _ = Room.objects.get_or_create(
        tenant=tenant, name=ROOM, defaults={"title": "Bench room", "owner": owner}
    )
    LectureSeries.objects.filter(room=room).delete()  # bench data only: a fresh series every run
    if series:
        # Daily, started an hour ago and lasting four: open now whatever the time of day.
        start = timezone.localtime() - timedelta(hours=1)
        schedule_series(
            actor=owner,
            room=room,
            first_date=start.date() - timedelta(days=14),
            start_time=start.time().replace(second=0, microsecond=0),
            duration_minutes=240,
            weekdays=list(range(7)),
        )
    SessionStore = import_module(settings.SESSION_ENGINE).SessionStore
    sessions = []
    for i in range(connections):
        user, _ = User.objects.get_or_create(username=f"bench-{i}", defaults={"display_name": f"Bench {i}"})
        Membership.objects.get_or_create(user=user, tenant=tenant)
        store = SessionStore()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append((str(store.session_key), _get_new_csrf_string()))
    return sessions


def start_server(
    kind: str, port: int, env: dict[str, str], workers: int, threads: int, worker_class: str = "gthread"
) -> subprocess.Popen[bytes]:
    bin_dir = Path(sys.executable).parent
    if kind == "gunicorn":
        cmd = [
            str(bin_dir / "gunicorn"),
            "portal.wsgi:application",
            f"--bind={HOST}:{port}",
            f"--workers={workers}",
            f"--worker-class={worker_class}",
            f"--threads={threads}",
            "--keep-alive=30",
            "--backlog=2048",
        ]
    else:
        # Connections stay bounded by the settings' psycopg pool (DB_POOL_MAX_SIZE), also under ASGI.
        cmd = [str(bin_dir / "daphne"), "-b", HOST, "-p", str(port), "portal.asgi:application"]
    return subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def wait_ready(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"server exited: {proc.stderr.read().decode() if proc.stderr else ''}")
        try:
            with socket.create_connection((HOST, port), timeout=1) as s:
                s.sendall(f"GET /bench/bare HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
                if s.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit("server did not become ready")


async def read_response(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """The status, and whether the server closes the connection after this response."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    closes = False
    for line in head.split(b"\r\n"):
        lowered = line.lower()
        if lowered[:15] == b"content-length:":
            length = int(line[15:])
        elif lowered[:11] == b"connection:" and b"close" in lowered:
            closes = True  # gunicorn's sync workers answer one request per connection
    if length:
        await reader.readexactly(length)
    return status, closes


async def worker(
    port: int, requests: list[bytes], result: Result, stop_at: float, record_from: float
) -> None:
    """One connection sending `requests` in turn (one person after another with --users)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    turn = 0
    try:
        while True:
            started = time.perf_counter()
            if started >= stop_at:
                break
            writer.write(requests[turn % len(requests)])
            turn += 1
            try:
                # Bounded: a server that stops answering ends the run instead of hanging it.
                status, closes = await asyncio.wait_for(read_response(reader), timeout=stop_at + 10 - started)
            except TimeoutError:
                result.errors += 1
                break
            except (asyncio.IncompleteReadError, ConnectionError):
                result.errors += 1
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
                continue
            result.answered += 1
            if started >= record_from:
                result.statuses[status] = result.statuses.get(status, 0) + 1
                if status == 200:
                    result.latencies.append(time.perf_counter() - started)
                else:
                    result.errors += 1
            if closes:  # a new connection, as a client would open (its cost is part of the latency)
                writer.close()
                reader, writer = await asyncio.open_connection(HOST, port)
    finally:
        writer.close()


async def drive(
    name: str, port: int, requests: list[list[bytes]], duration: float, warmup: float, server: int = 0
) -> Result:
    result = Result(name)
    cpu_before = cpu_seconds(server) if server else 0.0
    now = time.perf_counter()
    record_from, stop_at = now + warmup, now + warmup + duration
    await asyncio.gather(*(worker(port, req, result, stop_at, record_from) for req in requests))
    result.elapsed = duration
    result.server_cpu = cpu_seconds(server) - cpu_before if server else 0.0
    return result


def reset_rate_limits(redis_url: str) -> None:
    """Each scenario starts with empty per-address windows (runs a few seconds apart would otherwise add up
    to the API's per-minute limit and measure 429s)."""
    if not redis_url:
        return
    import redis

    r = redis.Redis.from_url(redis_url)
    for key in r.scan_iter(match="*rate_address_*", count=1000):
        r.delete(key)
    r.close()


def client(i: int) -> str:
    """Connection i's client address, as the reverse proxy would pass it on."""
    return f"X-Forwarded-For: 10.77.{i // 250}.{i % 250 + 1}\r\n"


ADDRESSES_PER_CONNECTION = 50


def join_turns(people: list[tuple[str, str]], i: int, connections: int) -> list[bytes]:
    """Connection i's requests in turn: its people, each turn from another client address (a Monday burst
    comes from thousands of addresses; 64 busy ones would meet the per-address limit of the API)."""
    turns = max(len(people), ADDRESSES_PER_CONNECTION)
    return [
        join_request(*people[t % len(people)], i + (t % ADDRESSES_PER_CONNECTION) * connections)
        for t in range(turns)
    ]


def join_request(session: str, csrf: str, i: int) -> bytes:
    return (
        f"POST /api/v1/rooms/{ROOM}/join/ HTTP/1.1\r\nHost: {HOST}\r\n{client(i)}"
        f"Cookie: sessionid={session}; csrftoken={csrf}\r\nX-CSRFToken: {csrf}\r\n"
        "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n{}"
    ).encode()


def page_request(session: str, i: int) -> bytes:
    return (
        f"GET /{TENANT}/r/{ROOM}/ HTTP/1.1\r\nHost: {HOST}\r\n{client(i)}Cookie: sessionid={session}\r\n\r\n"
    ).encode()


def minting_rates(seconds: float = 2.0) -> list[str]:
    """Tokens per second here: HS256, RS256 from the cached key, RS256 parsing the PEM each time."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    from meetings import jitsi

    @dataclass
    class Dep:
        app_id: str = "auditorium-bench"
        audience: str = "jitsi"
        algorithm: str = "HS256"
        base_url: str = "https://meet.bench.example.org"
        tenant_path: str = ""
        sub: str = "meet.bench.example.org"

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    who = jitsi.Participant(id="bench", name="Bench", moderator=False)

    def rate(dep: Dep, make_signer) -> float:
        count, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            now = datetime.now(UTC)
            jitsi.mint_room_token(
                deployment=dep,
                signer=make_signer(),
                room=ROOM,
                participant=who,
                now=now,
                expires_at=now + timedelta(hours=1),
            )
            count += 1
        return count / (time.perf_counter() - started)

    hs = jitsi.Signer("HS256", "a-bench-secret-that-is-at-least-32-bytes")
    rs = jitsi.Signer("RS256", key, kid="bench")
    figures = [
        ("HS256", rate(Dep(), lambda: hs)),
        ("RS256 cached key", rate(Dep(algorithm="RS256"), lambda: rs)),
        (
            "RS256 PEM parsed per token",
            rate(
                Dep(algorithm="RS256"),
                lambda: jitsi.Signer("RS256", serialization.load_pem_private_key(pem, None), kid="bench"),
            ),
        ),
    ]
    return [
        f"mint   {name:<28} {per_s:9.1f} tokens/s ({1000 / per_s:.3f} ms each)" for name, per_s in figures
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-c", "--connections", type=int, default=64)
    parser.add_argument("-d", "--duration", type=float, default=20.0, help="seconds per scenario")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--server", choices=["gunicorn", "daphne"], default="gunicorn")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--worker-class", choices=["gthread", "sync"], default="gthread")
    parser.add_argument("--page", action="store_true", help="also measure the HTML join page")
    parser.add_argument(
        "--only-join", action="store_true", help="skip the bare view (e.g. to profile the server meanwhile)"
    )
    parser.add_argument("--no-series", action="store_true", help="a room without lecture series")
    parser.add_argument(
        "--users",
        type=int,
        default=0,
        help="distinct signed-in people, taken in turn (default: one per connection); a Monday 10:15 burst "
        "is mostly first joins, which the per-process user copies do not help",
    )
    parser.add_argument(
        "--sessions",
        choices=["db", "cached_db", "cache"],
        default="",
        help="SESSION_ENGINE (default: the settings' own default)",
    )
    parser.add_argument(
        "--redis-url",
        default=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/8"),
        help="the cache and rate limits, as in production ('' for the in-process cache)",
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/auditorium_bench"),
    )
    args = parser.parse_args()
    connections = max(1, min(args.connections, MAX_CONNECTIONS))
    duration = max(1.0, min(args.duration, MAX_DURATION))
    if "@127.0.0.1" not in args.database_url and "@localhost" not in args.database_url:
        raise SystemExit("the benchmark only talks to 127.0.0.1")

    sys.path.insert(0, str(ROOT))
    if args.redis_url and not args.redis_url.startswith("redis://127.0.0.1"):
        raise SystemExit("the benchmark only talks to 127.0.0.1")
    env = bench_env(args.database_url, args.redis_url, args.sessions)
    os.environ.update(env)  # this process seeds through the ORM with the same settings as the server
    ensure_database(args.database_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=ROOT, env=env, check=True
    )
    import django

    django.setup()
    from django_scopes import scopes_disabled

    with scopes_disabled():  # the benchmark's own data, across the tables it seeds
        sessions = seed(max(connections, args.users), series=not args.no_series)

    # SIGTERM (e.g. from `timeout`) must still stop the server this script started.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))
    port = free_port()
    proc = start_server(args.server, port, env, args.workers, args.threads, args.worker_class)
    try:
        wait_ready(port, proc)
        bare = [[f"GET /bench/bare HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode()]] * connections
        # Connection i joins as people i, i + connections, i + 2 * connections, ... in turn.
        joins = [join_turns(sessions[i::connections], i, connections) for i in range(connections)]
        from django.conf import settings

        print(
            f"server {args.server}"
            + (
                f" ({args.workers} {args.worker_class} workers"
                + (f" x {args.threads} threads)" if args.worker_class == "gthread" else ")")
                if args.server == "gunicorn"
                else ""
            )
            + f", {connections} connections, {len(sessions)} people"
            + f", {duration:.0f} s per scenario, {os.cpu_count()} CPUs"
            + f", sessions {settings.SESSION_ENGINE.rsplit('.', 1)[-1]}"
            + (", cache Redis" if args.redis_url else ", cache in process")
            + (", room without series" if args.no_series else ", room with a running lecture")
            + f", load average before {os.getloadavg()[0]:.1f}"
        )
        # The same requests as the joins (POST, session and CSRF cookies, X-CSRFToken, JSON body, client
        # address) to the bare view: what the server stack costs for exactly these requests.
        bare_post = [
            [r.replace(f"/api/v1/rooms/{ROOM}/join/".encode(), b"/bench/bare") for r in turns]
            for turns in joins
        ]
        results = []
        if not args.only_join:
            for name, requests in (("bare", bare), ("bare-post", bare_post)):
                reset_rate_limits(args.redis_url)
                results.append(asyncio.run(drive(name, port, requests, duration, args.warmup, proc.pid)))
        reset_rate_limits(args.redis_url)
        results.append(asyncio.run(drive("join", port, joins, duration, args.warmup, proc.pid)))
        if args.page:
            reset_rate_limits(args.redis_url)
            results.append(
                asyncio.run(
                    drive(
                        "page",
                        port,
                        [
                            [page_request(s, i) for s, _ in sessions[i::connections]]
                            for i in range(connections)
                        ],
                        duration,
                        args.warmup,
                        proc.pid,
                    )
                )
            )
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    for result in results:
        print(result.line())
    by_name = {r.name: r for r in results}
    join = by_name["join"]
    for name in ("bare", "bare-post"):
        base = by_name.get(name)
        if base is not None and base.rate:
            cpu = join.cpu_ms / base.cpu_ms
            print(f"ratio  join/{name:<9} {join.rate / base.rate:6.1%}   server CPU join/{name} {cpu:5.1f}x")
    for line in minting_rates():
        print(line)
    print(f"load average after {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
