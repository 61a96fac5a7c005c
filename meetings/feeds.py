"""iCalendar feeds of lectures: one per series and one per person, each behind a secret, rotatable token.

Every lecture is its own VEVENT (no RRULE), so cancellations and moves need no client support for
recurrence exceptions. Times carry the series' TZID with a VTIMEZONE, so clients show the wall-clock time.

Text from the database is sanitised on the way out (portal.validators.sanitise): a title with a line break
or a control character, however it got stored, must not make the feed fail for every subscriber."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from django.db.models import Prefetch, Q
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from meetings import recurrence
from meetings.models import Follow, LectureSeries, OccurrenceChange, Room
from portal import formats
from portal.validators import sanitise
from tenants.models import Tenant, User

# Lectures from a week ago on: calendars keep recent ones, the rest of the series is upcoming.
PAST = timedelta(days=7)
FUTURE = timedelta(days=400)


def _calendar(name: str) -> Calendar:
    cal = Calendar()
    cal.add("prodid", "-//auditorium//lectures//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", sanitise(name))
    # Ask clients to refresh a few times a day; cancellations should reach students before the lecture.
    cal.add("refresh-interval", timedelta(hours=4), parameters={"VALUE": "DURATION"})
    cal.add("x-published-ttl", "PT4H")
    return cal


def _event(occ: recurrence.Occurrence, *, base_url: str, now: datetime) -> Event:
    series = occ.series
    room = series.room
    join_url = f"{base_url}{room.join_path}"
    tz = recurrence.zone(series.time_zone)
    event = Event()
    # The original start is the lecture's identity: a moved lecture updates the same event.
    event.add("uid", f"{series.code}-{occ.key}@{room.tenant.slug}.auditorium")
    event.add("dtstamp", now.astimezone(UTC))
    event.add("dtstart", occ.start.astimezone(tz))
    event.add("dtend", occ.end.astimezone(tz))
    event.add("sequence", series.revision)
    event.add("summary", sanitise(series.title))
    event.add("url", join_url)
    event.add("location", join_url)
    lines = [_("Join: %(url)s") % {"url": join_url}]
    if occ.moved:
        lines.insert(
            0, _("Moved from %(when)s.") % {"when": formats.moment(occ.original_start, tz, viewer_zone=tz)}
        )
    if occ.note:
        lines.insert(0, sanitise(occ.note))
    event.add("description", sanitise("\n".join(lines), multiline=True))
    event.add("status", "CANCELLED" if occ.cancelled else "CONFIRMED")
    return event


def render(name: str, series_list: Iterable[LectureSeries], *, base_url: str, now: datetime) -> bytes:
    cal = _calendar(name)
    for series in series_list:
        for occ in recurrence.occurrences(series, start=now - PAST, end=now + FUTURE):
            cal.add_component(_event(occ, base_url=base_url, now=now))
    # VTIMEZONE rules only for the years the feed spans: keeps the document small.
    cal.add_missing_timezones(
        first_date=(now - PAST - timedelta(days=366)).date(),
        last_date=(now + FUTURE + timedelta(days=366)).date(),
    )
    return cal.to_ical()


def series_feed(series: LectureSeries, *, base_url: str, now: datetime) -> bytes:
    return render(series.title, [series], base_url=base_url, now=now)


def series_for_person(tenant: Tenant, user: User) -> list[LectureSeries]:
    """Series of the active rooms the person owns, co-hosts or is invited to, and the institution-wide
    series they follow (three queries)."""
    co_hosted = Room.co_hosts.through.objects.filter(user_id=user.pk).values("room_id")
    invited = Room.invitees.through.objects.filter(user_id=user.pk).values("room_id")
    followed = Follow.objects.filter(user_id=user.pk, tenant=tenant).values("series_id")
    return list(
        LectureSeries.objects.filter(
            Q(room__owner=user)
            | Q(room__in=co_hosted)
            | Q(room__in=invited)
            | Q(pk__in=followed, room__access=Room.Access.TENANT),
            tenant=tenant,
            room__tenant=tenant,
            room__archived=False,
        )
        .select_related("room", "room__tenant")
        .prefetch_related(Prefetch("changes", queryset=OccurrenceChange.objects.all()))
    )


def person_feed(tenant: Tenant, user: User, *, base_url: str, now: datetime) -> bytes:
    name = _("My lectures at %(tenant)s") % {"tenant": tenant.name}
    return render(name, series_for_person(tenant, user), base_url=base_url, now=now)
