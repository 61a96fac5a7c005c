"""Delete anonymous meetings nobody used for ANONYMOUS_ROOM_IDLE_HOURS (run it from cron or a timer)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django_scopes import scopes_disabled

from meetings.anonymous import expire_anonymous_rooms


class Command(BaseCommand):
    help = "Delete idle anonymous meetings."

    def handle(self, *args: Any, **options: Any) -> None:
        with scopes_disabled():  # operators' housekeeping: anonymous rooms of whichever tenant hosts them
            count = expire_anonymous_rooms(now=timezone.now())
        self.stdout.write(f"expired {count} anonymous room(s)")
