"""Lectures of a series: weekly rules expanded in the series' time zone, with cancellations and moves applied.

The rule runs on naive wall-clock times and each lecture is then placed in the time zone, so a lecture at
10:15 in Zurich stays at 10:15 local time when the clocks change (its UTC time moves by an hour)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule
from django.utils.dateparse import parse_datetime
from django.utils.formats import time_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from meetings.models import MAX_OCCURRENCES, LectureSeries, OccurrenceChange
from portal import formats

WEEKDAYS = [
    (0, gettext_lazy("Monday")),
    (1, gettext_lazy("Tuesday")),
    (2, gettext_lazy("Wednesday")),
    (3, gettext_lazy("Thursday")),
    (4, gettext_lazy("Friday")),
    (5, gettext_lazy("Saturday")),
    (6, gettext_lazy("Sunday")),
]


SERIES_YEARS = (1900, 2999)  # lectures lie within these; beyond, date arithmetic overflows
KEY_FORMAT = "%Y%m%dT%H%M%SZ"  # a lecture's key: its original start in UTC


@dataclass(frozen=True)
class Occurrence:
    series: LectureSeries
    original_start: datetime  # the rule's start (UTC): the lecture's identity, even when moved
    start: datetime  # UTC
    end: datetime  # UTC
    cancelled: bool = False
    moved: bool = False
    note: str = ""

    @property
    def opens_at(self) -> datetime:
        return self.start - timedelta(minutes=self.series.join_opens_minutes)

    @property
    def closes_at(self) -> datetime:
        return self.end + timedelta(minutes=self.series.grace_minutes)

    @property
    def key(self) -> str:
        """The lecture's identity in forms and calendar UIDs."""
        return self.original_start.astimezone(UTC).strftime(KEY_FORMAT)

    def local_start(self) -> datetime:
        return self.start.astimezone(zone(self.series.time_zone))

    def local_end(self) -> datetime:
        return self.end.astimezone(zone(self.series.time_zone))


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def localize(day: date, at: time, tz: ZoneInfo) -> datetime:
    """A wall-clock time in `tz` as an aware UTC datetime.

    In the autumn's repeated hour the first (summer time) instant is taken; a time in the spring gap
    (which does not exist) is taken at the offset before the change, i.e. an hour later on the clock."""
    return datetime.combine(day, at, tzinfo=tz).astimezone(UTC)


def exists_locally(day: date, at: time, tz: ZoneInfo) -> bool:
    """False for a wall-clock time skipped by a clock change (e.g. 02:30 on the last Sunday of March)."""
    aware = datetime.combine(day, at, tzinfo=tz)
    return aware.astimezone(UTC).astimezone(tz).replace(tzinfo=None) == aware.replace(tzinfo=None)


def weekdays_of(series: LectureSeries) -> list[int]:
    days = sorted({int(d) for d in series.weekdays or [] if 0 <= int(d) <= 6})
    return days or [series.first_date.weekday()]


def _rule(series: LectureSeries) -> rrule.rrule:
    dtstart = datetime.combine(series.first_date, series.start_time)
    kwargs: dict[str, object] = {
        "dtstart": dtstart,
        "interval": series.interval_weeks,
        "byweekday": weekdays_of(series),
        # Weeks start on Monday, as in Switzerland: decides which weeks "every 2 weeks" counts.
        "wkst": rrule.MO,
    }
    if series.count:
        kwargs["count"] = series.count
    elif series.until:
        kwargs["until"] = datetime.combine(series.until, time.max)
    else:
        # Forms require an end; a hard cap keeps an open-ended rule finite anyway.
        kwargs["count"] = MAX_OCCURRENCES
    return rrule.rrule(rrule.WEEKLY, **kwargs)


def rule_starts(series: LectureSeries) -> Iterable[datetime]:
    """Every original start of the series (UTC), in order, without changes applied."""
    tz = zone(series.time_zone)
    for naive in _rule(series):
        yield localize(naive.date(), naive.time(), tz)


def _starts_between(series: LectureSeries, after: datetime, before: datetime) -> list[datetime]:
    tz = zone(series.time_zone)
    # The rule runs on naive local times: widen by a day so offsets cannot drop a lecture at the edges.
    lo = after.astimezone(tz).replace(tzinfo=None) - timedelta(days=1)
    hi = before.astimezone(tz).replace(tzinfo=None) + timedelta(days=1)
    starts = (localize(n.date(), n.time(), tz) for n in _rule(series).between(lo, hi, inc=True))
    return [s for s in starts if after <= s <= before]


def is_rule_start(series: LectureSeries, start: datetime) -> bool:
    start = start.astimezone(UTC)
    return start in _starts_between(series, start - timedelta(minutes=1), start + timedelta(minutes=1))


def _changes(series: LectureSeries) -> list[OccurrenceChange]:
    # Uses prefetch_related("changes") when the caller did it (list pages), else one query.
    return list(series.changes.all())


def occurrences(
    series: LectureSeries,
    *,
    start: datetime,
    end: datetime,
    include_cancelled: bool = True,
) -> list[Occurrence]:
    """Lectures of the series overlapping [start, end), with cancellations and moves applied, by start."""
    length = timedelta(minutes=series.duration_minutes)
    changes = {c.original_start.astimezone(UTC): c for c in _changes(series)}
    result: list[Occurrence] = []
    # A lecture that began before `start` may still be running.
    for original in _starts_between(series, start - length, end):
        change = changes.get(original)
        if change is None:
            if original + length > start and original < end:
                result.append(Occurrence(series, original, original, original + length))
        elif (
            change.kind == OccurrenceChange.Kind.CANCELLED
            and include_cancelled
            and original + length > start
            and original < end
        ):
            cancelled = Occurrence(
                series, original, original, original + length, cancelled=True, note=change.note
            )
            result.append(cancelled)
    # Moved lectures appear where they were moved to, wherever their original date lies.
    for original, change in changes.items():
        if change.kind != OccurrenceChange.Kind.MOVED or change.new_start is None:
            continue
        new_start = change.new_start.astimezone(UTC)
        new_end = new_start + timedelta(minutes=change.new_duration_minutes or series.duration_minutes)
        if new_end > start and new_start < end and is_rule_start(series, original):
            result.append(Occurrence(series, original, new_start, new_end, moved=True, note=change.note))
    result.sort(key=lambda o: (o.start, o.series.pk or 0))
    return result


def next_occurrences(
    series: LectureSeries, *, after: datetime, limit: int, include_cancelled: bool = True
) -> list[Occurrence]:
    """The next `limit` lectures ending after `after` (a lecture in progress counts)."""
    horizon = after + timedelta(weeks=max(4, 2 * series.interval_weeks))
    rule = _rule(series)
    tz = zone(series.time_zone)
    found: list[Occurrence] = []
    # Widen the window until enough are found or the rule has nothing after it (at most 200 lectures).
    for _attempt in range(12):
        found = occurrences(series, start=after, end=horizon, include_cancelled=include_cancelled)
        if len(found) >= limit or rule.after(horizon.astimezone(tz).replace(tzinfo=None)) is None:
            break
        horizon = after + (horizon - after) * 2
    return found[:limit]


def upcoming(
    series_list: Iterable[LectureSeries], *, now: datetime, days: int, include_cancelled: bool = True
) -> list[Occurrence]:
    """Lectures of several series from now (in progress included) for `days` days, by start."""
    end = now + timedelta(days=days)
    result = [
        o
        for s in series_list
        for o in occurrences(s, start=now, end=end, include_cancelled=include_cancelled)
    ]
    result.sort(key=lambda o: (o.start, o.series.pk or 0))
    return result


def parse_key(key: str) -> datetime | None:
    """The moment a lecture key names, in UTC: the key (`20260302T091500Z`, Occurrence.key) or an ISO 8601
    time with its offset (`2026-03-02T10:15:00+01:00`, which the API accepts too). None for anything else
    and for years outside SERIES_YEARS, where no lecture lies and date arithmetic would overflow (the one
    place lecture keys are read: pages and API answer 404 for None)."""
    try:
        moment = datetime.strptime(key, KEY_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        try:
            moment = parse_datetime(key)  # type: ignore[assignment]  # None is handled below
        except ValueError:
            return None
    if moment is None or moment.tzinfo is None:
        return None
    if not SERIES_YEARS[0] <= moment.year <= SERIES_YEARS[1]:
        return None
    return moment.astimezone(UTC)


def find_occurrence(series: LectureSeries, key: str) -> datetime | None:
    """The original start named by a lecture key (see parse_key), if the rule has that lecture."""
    original = parse_key(key)
    return original if original is not None and is_rule_start(series, original) else None


def has_any(series: LectureSeries) -> bool:
    return _rule(series).after(datetime.combine(series.first_date, time.min), inc=True) is not None


def occurrence_at(series: LectureSeries, original_start: datetime) -> Occurrence:
    """The lecture whose rule start is `original_start`, as it stands now (scheduled, cancelled or moved,
    wherever it was moved to). Callers check the start belongs to the rule (find_occurrence)."""
    original_start = original_start.astimezone(UTC)
    length = timedelta(minutes=series.duration_minutes)
    change = next((c for c in _changes(series) if c.original_start.astimezone(UTC) == original_start), None)
    if change is None:
        return Occurrence(series, original_start, original_start, original_start + length)
    if change.kind == OccurrenceChange.Kind.MOVED and change.new_start is not None:
        new_start = change.new_start.astimezone(UTC)
        new_end = new_start + timedelta(minutes=change.new_duration_minutes or series.duration_minutes)
        return Occurrence(series, original_start, new_start, new_end, moved=True, note=change.note)
    return Occurrence(
        series, original_start, original_start, original_start + length, cancelled=True, note=change.note
    )


def describe(series: LectureSeries, viewer_zone: str | None = None) -> str:
    """The rule in words: "Every week on Monday, 10:15-11:45 (Europe/Zurich), from 5 January 2027 until
    28 May 2027"; the zone only when it is not the viewer's."""
    names = dict(WEEKDAYS)
    days = ", ".join(str(names[d]) for d in weekdays_of(series))
    start = datetime.combine(series.first_date, series.start_time)
    end = start + timedelta(minutes=series.duration_minutes)
    times = f"{time_format(start, 'TIME_FORMAT')}\u2013{time_format(end, 'TIME_FORMAT')}"
    if series.interval_weeks == 1:
        every = _("Every week on %(days)s, %(times)s") % {"days": days, "times": times}
    else:
        every = ngettext(
            "Every %(n)d week on %(days)s, %(times)s",
            "Every %(n)d weeks on %(days)s, %(times)s",
            series.interval_weeks,
        ) % {"n": series.interval_weeks, "days": days, "times": times}
    if series.time_zone != viewer_zone:  # the zone is named where the reader may live elsewhere
        every = f"{every} ({series.time_zone})"
    if series.count:
        span = ngettext(
            "%(count)d lecture from %(first)s", "%(count)d lectures from %(first)s", series.count
        ) % {"count": series.count, "first": formats.day(series.first_date)}
    elif series.until:
        span = _("from %(first)s until %(last)s") % {
            "first": formats.day(series.first_date),
            "last": formats.day(series.until),
        }
    else:
        span = _("from %(first)s") % {"first": formats.day(series.first_date)}
    return f"{every}, {span}"
