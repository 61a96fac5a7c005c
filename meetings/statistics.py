"""Usage statistics from meeting history: pure functions over intervals, in the tenant's local calendar.

Days are local days of the tenant's time zone, so a day around a clock change has 23 or 25 hours, and a
meeting crossing midnight counts on both days for the minutes it spent on each. Arithmetic happens in UTC:
Python subtracts and compares two datetimes of the same tzinfo by wall clock, which is wrong across a change.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class Interval:
    """Someone (or a meeting) present in a room from `start` to `end` (aware datetimes)."""

    room: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class DayFigures:
    day: date
    meetings: int
    participant_minutes: float
    peak_concurrent: int


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The start of a local day, as a UTC instant."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)


def split_by_day(start: datetime, end: datetime, tz: ZoneInfo) -> Iterable[tuple[date, float]]:
    """Minutes of [start, end) falling on each local day."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return
    day = start.astimezone(tz).date()
    while True:
        next_midnight = local_midnight(day + timedelta(days=1), tz)
        piece_end = min(end, next_midnight)
        piece_start = max(start, local_midnight(day, tz))
        if piece_end > piece_start:
            yield day, (piece_end - piece_start).total_seconds() / 60
        if end <= next_midnight:
            return
        day += timedelta(days=1)


def peak_concurrent(intervals: Iterable[Interval]) -> int:
    """The most intervals open at one instant (a leave and a join in the same second do not overlap)."""
    intervals = list(intervals)
    edges = [(i.start.astimezone(UTC), 1) for i in intervals] + [
        (i.end.astimezone(UTC), -1) for i in intervals
    ]
    edges.sort(key=lambda e: (e[0], e[1]))
    current = peak = 0
    for _when, step in edges:
        current += step
        peak = max(peak, current)
    return peak


def daily_figures(
    *, meetings: list[Interval], presences: list[Interval], tz: ZoneInfo, first: date, last: date
) -> list[DayFigures]:
    """Per local day from `first` to `last`: meetings started, participant-minutes, peak concurrent people."""
    started = Counter(m.start.astimezone(tz).date() for m in meetings)
    minutes: dict[date, float] = defaultdict(float)
    by_day: dict[date, list[Interval]] = defaultdict(list)
    for presence in presences:
        for day, spent in split_by_day(presence.start, presence.end, tz):
            minutes[day] += spent
            clipped_start = max(presence.start.astimezone(UTC), local_midnight(day, tz))
            clipped_end = min(presence.end.astimezone(UTC), local_midnight(day + timedelta(days=1), tz))
            by_day[day].append(Interval(presence.room, clipped_start, clipped_end))
    figures = []
    day = first
    while day <= last:
        figures.append(
            DayFigures(
                day=day,
                meetings=started.get(day, 0),
                participant_minutes=round(minutes.get(day, 0.0), 1),
                peak_concurrent=peak_concurrent(by_day.get(day, [])),
            )
        )
        day += timedelta(days=1)
    return figures


def busiest_rooms(presences: Iterable[Interval], *, limit: int = 10) -> list[tuple[str, float]]:
    """Rooms by participant-minutes, most first."""
    totals: dict[str, float] = defaultdict(float)
    for p in presences:
        totals[p.room] += max(0.0, (p.end - p.start).total_seconds() / 60)
    return sorted(((room, round(m, 1)) for room, m in totals.items()), key=lambda x: (-x[1], x[0]))[:limit]


@dataclass(frozen=True)
class SeriesAttendance:
    series: str
    room: str
    start: datetime
    attendees: int


@dataclass(frozen=True)
class Usage:
    first: date
    last: date
    days: list[DayFigures]
    busiest: list[tuple[str, float]]
    attendance: list[SeriesAttendance]
    meetings: int
    participant_minutes: float
    peak_concurrent: int


MAX_DAYS = 366


def tenant_usage(tenant: Any, *, first: date, last: date, now: datetime | None = None) -> Usage:
    """Usage of one tenant's meetings over local days first..last, from sessions and occupancies.

    Where the retention period has removed occupancies, a session's own aggregates stand in: its
    participant-minutes count on the day it started and its peak as that day's peak."""
    from meetings.models import LectureSeries, MeetingSession, Occupancy
    from meetings.recurrence import occurrences

    tz = ZoneInfo(tenant.time_zone)
    now = now or datetime.now(UTC)
    start, end = local_midnight(first, tz), local_midnight(last + timedelta(days=1), tz)
    sessions = list(
        MeetingSession.objects.filter(tenant=tenant, created_at__lt=end, created_at__isnull=False)
        .exclude(destroyed_at__lt=start)
        .select_related("room")
    )
    rows = list(
        Occupancy.objects.filter(tenant=tenant, session__in=[s.pk for s in sessions], joined_at__lt=end)
        .exclude(left_at__lt=start)
        .values_list("session_id", "joined_at", "left_at", "participant_id")
    )
    label = {s.pk: (s.room.title if s.room else s.room_name) for s in sessions}
    presences = [Interval(label[sid], joined, left or now) for sid, joined, left, _pid in rows]
    with_rows = {sid for sid, *_rest in rows}
    meetings = [
        Interval(label[s.pk], s.created_at, s.destroyed_at or now)  # type: ignore[arg-type]  # created_at__isnull=False above
        for s in sessions
    ]
    days = daily_figures(
        meetings=[m for m in meetings if m.start >= start], presences=presences, tz=tz, first=first, last=last
    )
    # Sessions whose occupancies are gone: their aggregates, on the day they started.
    by_day = {d.day: d for d in days}
    room_minutes: dict[str, float] = defaultdict(float)
    for presence in presences:
        room_minutes[presence.room] += max(0.0, (presence.end - presence.start).total_seconds() / 60)
    for session in sessions:
        if session.pk in with_rows or session.participant_seconds == 0:
            continue
        day = session.created_at.astimezone(tz).date()  # type: ignore[union-attr]  # created_at__isnull=False above
        if day in by_day:
            old = by_day[day]
            by_day[day] = DayFigures(
                day=day,
                meetings=old.meetings,
                participant_minutes=round(old.participant_minutes + session.participant_seconds / 60, 1),
                peak_concurrent=max(old.peak_concurrent, session.peak_participants),
            )
        room_minutes[label[session.pk]] += session.participant_seconds / 60
    days = [by_day[d.day] for d in days]
    busiest = sorted(((r, round(m, 1)) for r, m in room_minutes.items()), key=lambda x: (-x[1], x[0]))[:10]

    attendance: list[SeriesAttendance] = []
    people_by_room: dict[int, list[tuple[datetime, datetime, str]]] = defaultdict(list)
    session_room = {s.pk: s.room_id for s in sessions}
    for sid, joined, left, pid in rows:
        room_id = session_room.get(sid)
        if room_id is not None:
            # Without an id (a token without context.user) each connection counts as one person.
            people_by_room[room_id].append((joined, left or now, pid or f"anonymous-{sid}-{joined}"))
    for series in LectureSeries.objects.filter(tenant=tenant, room__archived=False).select_related("room"):
        for lecture in occurrences(series, start=start, end=min(end, now), include_cancelled=False):
            opens, closes = lecture.opens_at, lecture.closes_at
            present = {
                pid
                for joined, left, pid in people_by_room.get(series.room_id, [])
                if joined < closes and left > opens
            }
            attendance.append(SeriesAttendance(series.title, series.room.title, lecture.start, len(present)))
    attendance.sort(key=lambda a: (a.start, a.series))
    return Usage(
        first=first,
        last=last,
        days=days,
        busiest=busiest,
        attendance=attendance,
        meetings=sum(d.meetings for d in days),
        participant_minutes=round(sum(d.participant_minutes for d in days), 1),
        peak_concurrent=max((d.peak_concurrent for d in days), default=0),
    )
