"""Correct live counts from Prosody's room API (`mod_muc_size`), e.g. after a restart, an outage or lost
events.

Asks `GET <room_api_url>/room-size?room=&domain=[&subdomain=]` about every room that could be live
(meetings/reconciliation.py: open sessions, lectures inside their join window, rooms used recently): an answer
of N > 1 is taken as N people, 1 as "0 or 1" (the event count stands when it is 0 or 1), 404 as "the room is
gone" (an open session is closed). It prints every count it corrected and a summary per deployment. A
deployment without a room API, or an API that fails for a room, leaves those counts as they are and is
reported; the command then exits with status 1 so that scripts and systemd notice.

`--every SECONDS` keeps running and reconciles again at that interval (for `make run`; production uses the
systemd timer in portal/deploy/).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import close_old_connections
from django.utils import timezone
from django_scopes import scopes_disabled

from meetings import live
from meetings.reconciliation import Candidate, default_recent, rooms_that_could_be_live
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
        exc.close()  # its response's socket, which nothing else would close
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
        parser.add_argument(
            "--recent-minutes",
            type=float,
            default=None,
            help="also ask about rooms used within this many minutes (default: the longest a join token "
            "lasts, JOIN_TOKEN_MAX_SECONDS, plus five minutes)",
        )
        parser.add_argument("--parallel", type=int, default=8, help="requests to Prosody at once (default 8)")
        parser.add_argument(
            "--every", type=float, default=0, help="keep running: reconcile again every this many seconds"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        with scopes_disabled():  # every deployment's live rooms, across tenants
            self._handle(opts)

    def _handle(self, opts: dict[str, Any]) -> None:
        if opts["every"] <= 0:
            self.reconcile_once(opts)
            return
        while True:  # --every: failures are reported and tried again at the next round
            try:
                self.reconcile_once(opts)
            except CommandError as exc:
                self.stderr.write(str(exc))
            except Exception as exc:  # e.g. the database away: reported, and the next round tries again
                self.stderr.write(f"reconciliation failed: {exc}")
            close_old_connections()
            time.sleep(opts["every"])

    def reconcile_once(self, opts: dict[str, Any]) -> None:
        deployments = JitsiDeployment.objects.filter(tenant__is_active=True).order_by("slug")
        if opts["deployment"]:
            deployments = deployments.filter(slug__in=opts["deployment"])
        recent = (
            timedelta(minutes=opts["recent_minutes"])
            if opts["recent_minutes"] is not None
            else default_recent()
        )
        failures = 0
        for deployment in deployments:
            candidates = rooms_that_could_be_live(deployment, now=timezone.now(), recent=recent)
            if not candidates:
                continue
            if not deployment.room_api_url:
                if any(c.why == "open session" for c in candidates):
                    failures += 1
                    self.stderr.write(
                        f"{deployment.slug}: no room API URL configured (JitsiDeployment.room_api_url); "
                        f"{len(candidates)} room(s) that could be live left unchanged"
                    )
                continue
            failures += self.reconcile_deployment(deployment, candidates, opts)
        if failures:
            raise CommandError(f"{failures} deployment(s) or room(s) could not be reconciled; see above")

    def reconcile_deployment(
        self, deployment: JitsiDeployment, candidates: list[Candidate], opts: dict[str, Any]
    ) -> int:
        def ask(candidate: Candidate) -> tuple[Candidate, str, int | RoomApiError | None]:
            url = live.room_size_url(deployment, candidate.room_name)
            try:
                return candidate, url, ask_room_size(url, timeout=opts["timeout"])
            except RoomApiError as exc:
                return candidate, url, exc

        failed = corrected = 0
        # Prosody is asked in parallel (a university has many rooms); the database is written from here only.
        with ThreadPoolExecutor(max_workers=max(1, min(opts["parallel"], 32))) as pool:
            answers = list(pool.map(ask, candidates))
        for candidate, url, answer in answers:
            before = candidate.count
            if isinstance(answer, RoomApiError):
                failed += 1
                self.stderr.write(
                    f"{deployment.slug} {candidate.room_name}: {url} failed ({answer}); "
                    f"count left at {before}"
                )
                continue
            outcome = live.reconcile(
                deployment=deployment, room_name=candidate.room_name, participants=answer
            )
            after = outcome.count if outcome is not None else before
            said = "gone (404)" if answer is None else str(answer)
            line = f"{deployment.slug} {candidate.room_name}: events {before}, Prosody {said} -> {after}"
            if outcome is not None and outcome.changed:
                corrected += 1
                self.stdout.write(f"{line} (corrected; {candidate.why})")
            elif opts["verbosity"] >= 2 or candidate.why == "open session":
                self.stdout.write(line)
        self.stdout.write(
            f"{deployment.slug}: asked about {len(candidates)} room(s) that could be live, "
            f"corrected {corrected}, failed {failed}"
        )
        return failed
