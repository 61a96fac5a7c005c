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
