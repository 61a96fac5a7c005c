"""Delete attendance rows past each tenant's retention period; per-meeting totals stay (for cron)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django_scopes import scopes_disabled

from meetings.live import purge_occupancies


class Command(BaseCommand):
    help = "Delete occupancy rows older than each tenant's retention_days, keeping the session totals."

    def handle(self, *args: Any, **opts: Any) -> None:
        with scopes_disabled():  # housekeeping of every tenant's old occupancies
            self._handle(**opts)

    def _handle(self, **opts: Any) -> None:
        deleted = purge_occupancies()
        self.stdout.write(f"deleted {deleted} occupancy rows")
