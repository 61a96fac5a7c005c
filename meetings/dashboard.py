"""What the home page, the room list and the lectures page show: lectures grouped by day, each room's next
lecture. Read-only; a handful of queries however many rooms (series and their changes are prefetched)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Prefetch

from meetings import recurrence
from meetings.lookups import hosted_rooms, rooms_open_to
from meetings.models import Follow, LectureSeries, OccurrenceChange, Room
from tenants.models import Membership, Tenant, User

WEEK_DAYS = 7


@dataclass
class Day:
    day: date
    lectures: list[recurrence.Occurrence] = field(default_factory=list)


def with_series(rooms: Any) -> Any:
    """Rooms with their series and the series' changes, in three queries."""
    return rooms.prefetch_related(
        Prefetch(
            "series",
            queryset=LectureSeries.objects.select_related("room", "room__tenant").prefetch_related(
                Prefetch("changes", queryset=OccurrenceChange.objects.all())
            ),
        )
    )


def by_day(lectures: Iterable[recurrence.Occurrence], tz_name: str) -> list[Day]:
    """Lectures grouped by their local date in the viewer's (the institution's) time zone."""
    tz = recurrence.zone(tz_name)
    days: dict[date, Day] = {}
    for lecture in lectures:
        local = lecture.start.astimezone(tz).date()
        days.setdefault(local, Day(local)).lectures.append(lecture)
    return list(days.values())


def next_lectures(rooms: Iterable[Room], now: datetime) -> dict[int, recurrence.Occurrence | None]:
    """Each room's next lecture that takes place (in progress counts), from prefetched series."""
    result: dict[int, recurrence.Occurrence | None] = {}
    for room in rooms:
        found = [
            o
            for s in room.series.all()
            for o in recurrence.next_occurrences(s, after=now, limit=1, include_cancelled=False)
        ]
        result[room.pk] = min(found, key=lambda o: o.start) if found else None
    return result


def home(tenant: Tenant, user: User, membership: Membership, now: datetime) -> dict[str, Any]:
    """The member's dashboard: this week's lectures (today's first) and, for lecturers, their rooms."""
    tz = recurrence.zone(tenant.time_zone)
    today = now.astimezone(tz).date()
    context: dict[str, Any] = {"today": today}
    open_rooms = list(with_series(rooms_open_to(tenant, user).select_related("tenant", "owner")))
    hosted_ids: set[int] = set()
    if membership.may_host:
        hosted = list(
            with_series(
                hosted_rooms(tenant, user).filter(archived=False).select_related("tenant", "owner")
            ).order_by("-last_used_at", "-created_at")
        )
        hosted_ids = {r.pk for r in hosted}
        nexts = next_lectures(hosted, now)

        # Rooms with a lecture coming first (soonest on top), then the others by last use.
        def soonest(room: Room) -> tuple[bool, datetime]:
            lecture = nexts[room.pk]
            return (lecture is None, lecture.start if lecture is not None else now)

        hosted.sort(key=soonest)
        context["rooms"] = [(r, nexts[r.pk]) for r in hosted[:8]]
        context["more_rooms"] = max(0, len(hosted) - 8)
    followed = set(Follow.objects.filter(user=user, tenant=tenant).values_list("series_id", flat=True))
    # Students see the lectures they follow or are invited to; lecturers also those they host.
    series = [
        s
        for r in open_rooms
        for s in r.series.all()
        if r.pk in hosted_ids or s.pk in followed or r.access != Room.Access.TENANT or r.owner_id == user.pk
    ]
    week = recurrence.upcoming(series, now=now, days=WEEK_DAYS, include_cancelled=True)
    days = by_day(week, tenant.time_zone)
    context["today_lectures"] = next((d.lectures for d in days if d.day == today), [])
    context["week_days"] = [d for d in days if d.day != today]
    context["hosted_ids"] = hosted_ids
    context["follows_any"] = bool(followed)
    context["tenant_wide_series"] = any(
        r.access == Room.Access.TENANT and r.series.all() for r in open_rooms if r.pk not in hosted_ids
    )
    return context


def week_end(now: datetime) -> datetime:
    return now + timedelta(days=WEEK_DAYS)
