"""Delete recordings past their tenant's retention period (daily; the worker also runs it at 03:17)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django_scopes import scopes_disabled

from meetings.recordings import services


class Command(BaseCommand):
    help = "Delete recordings past their retention (files in storage too; an audit row stays for each)."

    def handle(self, *args: Any, **opts: Any) -> None:
        with scopes_disabled():  # every institution's expired recordings
            count = services.purge_expired(now=timezone.now())
        self.stdout.write(f"purged {count} recordings")
