"""Shared set-up for the live-count benchmarks: a migrated bench database with one tenant, room and viewer."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
os.environ.setdefault("SECRET_KEY", "insecure-bench-only-key")
os.environ.setdefault("SECURE", "0")
os.environ.setdefault("STATIC_MANIFEST", "0")
os.environ.setdefault("LOG_LEVEL", "WARNING")

# "bench" itself is reserved: /bench/bare is the portal's own baseline view.
TENANT = "loadtest"
BENCH_SECRET = "bench-event-secret-0123456789"  # noqa: S105 - a local benchmark's made-up secret


def require_env() -> None:
    for name in ("DATABASE_URL", "REDIS_URL"):
        if not os.environ.get(name):
            sys.exit(f"set {name} (a bench PostgreSQL database and a Redis URL), see the README")


def ensure_database() -> None:
    """Create the bench database if it does not exist (its name comes from DATABASE_URL)."""
    import dj_database_url
    import psycopg

    cfg = dj_database_url.parse(os.environ["DATABASE_URL"])
    name = cfg["NAME"]
    with psycopg.connect(
        host=cfg["HOST"] or "127.0.0.1",
        port=cfg["PORT"] or 5432,
        user=cfg["USER"] or "postgres",
        password=cfg.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    ) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')  # name from the operator's own DATABASE_URL


def setup(rooms: int = 1) -> dict[str, Any]:
    """Migrate, then create (or reuse) tenant `bench` with `rooms` rooms and a signed-in viewer."""
    require_env()
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django_scopes import scopes_disabled

    with scopes_disabled():  # the benchmark's own data, across the tables it seeds
        return _seed(rooms)


def _seed(rooms: int) -> dict[str, Any]:
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore

    from meetings.models import MeetingSession, Room
    from tenants.models import JitsiDeployment, Membership, Tenant, User

    tenant, _ = Tenant.objects.get_or_create(slug=TENANT, defaults={"name": "Bench University"})
    deployment = JitsiDeployment.objects.filter(tenant=tenant).first()
    if deployment is None:
        deployment = JitsiDeployment.objects.create(
            tenant=tenant,
            slug="bench",
            base_url="https://meet.bench.example.org",
            xmpp_domain="meet.bench.example.org",
            app_id="auditorium-bench",
            app_secret="bench-app-secret-0123456789",  # noqa: S106 - made up for the benchmark
            event_secret=BENCH_SECRET,
        )
    user, _ = User.objects.get_or_create(username="bench-viewer")
    Membership.objects.get_or_create(user=user, tenant=tenant)
    names = [f"bench-room-{i}" for i in range(rooms)]
    for name in names:
        Room.objects.get_or_create(tenant=tenant, name=name, defaults={"title": name, "owner": user})
    MeetingSession.objects.filter(deployment=deployment).delete()  # every run starts from count 0
    session = SessionStore()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    from django.db import connections

    connections.close_all()
    return {
        "tenant": tenant.slug,
        "deployment": deployment.slug,
        "rooms": names,
        "cookie": session.session_key,
    }


def joined_body(room_name: str, n: int, domain: str = "meet.bench.example.org") -> bytes:
    """An `occupant/joined` body shaped like Prosody's: the n-th person joins, count n."""
    import json

    return json.dumps(
        {
            "room_jid": f"{room_name}@conference.{domain}",
            "is_breakout": False,
            "event_name": "muc-occupant-joined",
            "room_name": room_name,
            "active_occupants_count": n,
            "occupant": {
                "occupant_jid": f"bench-{n}-{time.time_ns()}@{domain}/bench",
                "joined_at": int(time.time()),
                "id": f"bench-{n}",
            },
        },
        separators=(",", ":"),
    ).encode()


def percentile(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(p / 100 * (len(ordered) - 1))))
    return ordered[index]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
