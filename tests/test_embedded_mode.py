"""`make run`'s embedded mode (SQLite, in-memory layer, no DATABASE_URL or REDIS_URL), driven as a newcomer
would: migrate, seed, play a sample meeting, read the counts back. The rest of the suite uses PostgreSQL."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHECK = """
from django_scopes import scopes_disabled
from meetings.models import MeetingSession, Occupancy
with scopes_disabled():  # reading the database directly, as an operator's shell does
    s = MeetingSession.objects.get(room__name="welcome")
    print(s.current_count, s.peak_participants, s.destroyed_at is not None,
          Occupancy.objects.count(), Occupancy.objects.filter(left_at__isnull=True).count())
"""


def manage(var: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "SECRET_KEY"}}
    env.update({"DEBUG": "1", "SECURE": "0", "PORTAL_DEV_IDP": "1", "PORTAL_VAR_DIR": str(var)})
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


@pytest.mark.slow
def test_sample_meeting_in_embedded_mode_counts_up_and_down(tmp_path):
    manage(tmp_path, "migrate", "--noinput")
    manage(tmp_path, "seed_demo")
    manage(tmp_path, "seed_demo_rooms")
    manage(tmp_path, "post_sample_events", "demo", "welcome", "--local", "--people", "3", "--delay", "0")
    count, peak, destroyed, occupancies, still_open = (
        manage(tmp_path, "shell", "-c", CHECK).splitlines()[-1].split()
    )
    # Three people came and went: one occupancy each, all closed, the room gone, nobody counted any more.
    assert (count, peak, destroyed, occupancies, still_open) == ("0", "3", "True", "3", "0")
    assert (tmp_path / "auditorium.sqlite3").exists()
