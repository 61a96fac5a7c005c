"""Which rooms `reconcile_counts` asks Prosody about: every room that could be live.

Prosody's room API (`mod_muc_size`, CONTRACTS.md §2) answers for one named room and cannot list them, so the
rooms are chosen here: those with an open session (events said so), those whose lecture is inside its join
window now, and those used recently (a join token was handed out within `recent`: its holder can still enter).
A room created and filled while the portal was away (its `room/created` lost) is found by the last two.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q

from meetings import live, schedule
from meetings.joining import LAST_USED_EVERY
from meetings.models import MeetingSession, Room
from tenants.models import JitsiDeployment


@dataclass(frozen=True)
class Candidate:
    room_name: str  # as Prosody's events name it (`[acme]room` on tenant-path deployments)
    count: int  # the count believed now: the open session's, else 0
    why: str  # "open session", "lecture", "recently used"


def default_recent() -> timedelta:
    """A join token lasts at most JOIN_TOKEN_MAX_SECONDS, and a room's use is written at most every
    LAST_USED_EVERY: a room unused for longer cannot have anyone entering it."""
    return timedelta(seconds=settings.JOIN_TOKEN_MAX_SECONDS) + LAST_USED_EVERY


def rooms_that_could_be_live(
    deployment: JitsiDeployment, *, now: datetime, recent: timedelta
) -> list[Candidate]:
    found: dict[str, Candidate] = {}
    for room_name, count in (
        MeetingSession.objects.filter(deployment=deployment, destroyed_at__isnull=True, is_breakout=False)
        .order_by("room_name")
        .values_list("room_name", "current_count")
    ):
        found[room_name] = Candidate(room_name, count, "open session")
    rooms = Room.objects.filter(tenant_id=deployment.tenant_id, archived=False)
    for name in rooms.filter(last_used_at__gte=now - recent).values_list("name", flat=True):
        internal = live.internal_room_name(deployment, name)
        found.setdefault(internal, Candidate(internal, 0, "recently used"))
    with_lectures = (
        rooms.filter(series__isnull=False)
        .filter(~Q(last_used_at__gte=now - recent) | Q(last_used_at__isnull=True))
        .distinct()
        .prefetch_related("series__changes")
    )
    for room in with_lectures:
        # schedule.join_window reads series preloaded on the room (as the join cache's copies carry them).
        room.hot_series = list(room.series.all())  # type: ignore[attr-defined]  # an attribute of our own
        if schedule.join_window(room, now).is_open:
            internal = live.internal_room_name(deployment, room.name)
            found.setdefault(internal, Candidate(internal, 0, "lecture"))
    return sorted(found.values(), key=lambda c: c.room_name)
