"""Correct live counts from Prosody's room API (`mod_muc_size`), e.g. after a restart or lost events.

For every room believed live (an open session), asks
`GET <room_api_url>/room-size?room=&domain=[&subdomain=]`: an answer of N > 1 is taken as N people, 1 as
"0 or 1" (the event count stands when it is 0 or 1), 404 as "the room is gone" (the session is closed). A
deployment without a room API, or an API that fails, leaves its counts as they are and is reported; the
command then exits with status 1 so that scripts notice.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scopes_disabled

from meetings import live
from meetings.models import MeetingSession
from tenants.models import JitsiDeployment


class RoomApiError(Exception):
    pass


def ask_room_size(url: str, *, timeout: float) -> int | None:
    """Participants reported by mod_muc_size, None when the room does not exist (404)."""
    request = urllib.request.Request(url, headers={"User-Agent": "auditorium reconcile_counts"})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - operator's URL
            body = response.read(4096)
    except urllib.error.HTTPError as exc:
        if exc.code == 404:
            return None
        raise RoomApiError(f"HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise RoomApiError(str(getattr(exc, "reason", exc))) from None
    try:
        participants = json.loads(body)["participants"]
    except (ValueError, KeyError, TypeError):
        raise RoomApiError(f"unexpected answer {body[:100]!r}") from None
    if isinstance(participants, bool) or not isinstance(participants, int) or participants < 0:
        raise RoomApiError(f"unexpected participants value {participants!r}")
    return participants


class Command(BaseCommand):
    help = "Reconcile live participant counts with Prosody's room API (mod_muc_size)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--deployment", action="append", help="only this deployment slug (repeatable)")
        parser.add_argument("--timeout", type=float, default=5.0, help="seconds per request (default 5)")

    def handle(self, *args: Any, **opts: Any) -> None:
        with scopes_disabled():  # every deployment's live rooms, across tenants
            self._handle(**opts)

    def _handle(self, **opts: Any) -> None:
        deployments = JitsiDeployment.objects.filter(tenant__is_active=True).order_by("slug")
        if opts["deployment"]:
            deployments = deployments.filter(slug__in=opts["deployment"])
        failures = 0
        for deployment in deployments:
            rooms = list(
                MeetingSession.objects.filter(
                    deployment=deployment, destroyed_at__isnull=True, is_breakout=False
                )
                .order_by("room_name")
                .values_list("room_name", "current_count")
            )
            if not rooms:
                continue
            if not deployment.room_api_url:
                failures += 1
                self.stderr.write(
                    f"{deployment.slug}: no room API URL configured (JitsiDeployment.room_api_url); "
                    f"{len(rooms)} live room(s) left unchanged"
                )
                continue
            for room_name, before in rooms:
                url = live.room_size_url(deployment, room_name)
                try:
                    participants = ask_room_size(url, timeout=opts["timeout"])
                except RoomApiError as exc:
                    failures += 1
                    self.stderr.write(
                        f"{deployment.slug} {room_name}: {url} failed ({exc}); count left at {before}"
                    )
                    continue
                outcome = live.reconcile(
                    deployment=deployment, room_name=room_name, participants=participants
                )
                after = outcome.count if outcome is not None else before
                answer = "gone (404)" if participants is None else str(participants)
                self.stdout.write(
                    f"{deployment.slug} {room_name}: events {before}, Prosody {answer} -> {after}"
                )
        if failures:
            raise CommandError(f"{failures} deployment(s) or room(s) could not be reconciled; see above")
