"""Database and session settings for production: a bounded connection pool whatever the server."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _settings(**env: str) -> dict:
    script = (
        "import json, portal.settings as s; "
        "print(json.dumps({'db': s.DATABASES['default'], 'sessions': s.SESSION_ENGINE}, default=str))"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DB_", "DATABASE_URL", "REDIS_URL"))}
    clean.update(SECRET_KEY="x" * 50, **env)
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=clean, capture_output=True, text=True, check=True
    )
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_postgresql_gets_a_bounded_pool_and_no_persistent_connections():
    found = _settings(DATABASE_URL="postgres://u@127.0.0.1:5432/x")
    assert found["db"]["CONN_MAX_AGE"] == 0  # Daphne's per-request threads would otherwise each keep one
    assert found["db"]["OPTIONS"]["pool"]["max_size"] == 8
    assert found["db"]["CONN_HEALTH_CHECKS"] is False  # no SELECT 1 per request
    # An outage is a fast 503 (portal/database/): short waits, and the backend that refuses while it is down.
    assert found["db"]["ENGINE"] == "portal.database"
    assert found["db"]["OPTIONS"]["connect_timeout"] == 2
    assert found["db"]["OPTIONS"]["pool"]["timeout"] == 1.0
    assert found["db"]["OPTIONS"]["pool"]["reconnect_timeout"] == 1.0
    assert found["sessions"] == "django.contrib.sessions.backends.db"


def test_pool_size_and_switching_it_off():
    assert (
        _settings(DATABASE_URL="postgres://u@h/x", DB_POOL_MAX_SIZE="3")["db"]["OPTIONS"]["pool"]["max_size"]
        == 3
    )
    off = _settings(DATABASE_URL="postgres://u@h/x", DB_POOL_MAX_SIZE="0", DB_CONN_MAX_AGE="30")["db"]
    assert "pool" not in off.get("OPTIONS", {}) and off["CONN_MAX_AGE"] == 30


def test_sessions_are_read_through_redis_when_there_is_one():
    found = _settings(DATABASE_URL="postgres://u@h/x", REDIS_URL="redis://127.0.0.1:6379/9")
    assert found["sessions"] == "django.contrib.sessions.backends.cached_db"  # still stored in PostgreSQL


def test_the_pool_tracks_its_connection_attempts(db):
    """The backend hands psycopg_pool its connection class through Django's OPTIONS["pool"] (what Django
    passes on to ConnectionPool), so the pool's own reconnections tell whether PostgreSQL is away."""
    from django.db import connection

    from portal.database.outage import TrackedConnection

    assert connection.settings_dict["OPTIONS"]["pool"]["connection_class"] is TrackedConnection
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    assert isinstance(connection.connection, TrackedConnection)
