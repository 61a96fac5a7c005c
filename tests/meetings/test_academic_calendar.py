"""The academic calendar: series skip the institution's holidays (with per-lecture exceptions), moved
lectures keep their feed UID, the preview shows the dates, students follow series into their feed."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta

import pytest
from icalendar import Calendar

from meetings import academic, feeds, recurrence, services
from meetings.models import AcademicPeriod, LectureSeries, OccurrenceChange, PersonalFeed, Room
from tenants.models import AuditEntry
from tests.meetings.helpers import make_room, make_series

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def room(tenant, host):
    return make_room(host, tenant, title="Algebra I", access=Room.Access.TENANT)


def christmas(tenant, host):
    return academic.add_academic_period(
        actor=host,
        tenant=tenant,
        kind=AcademicPeriod.Kind.HOLIDAY,
        title="Christmas break",
        first_day=date(2026, 12, 21),
        last_day=date(2027, 1, 3),
    )


def across_christmas(room, **kwargs):
    # Thursdays from 3 December 2026: 3, 10, 17, 24, 31 Dec, 7, 14, 21 Jan.
    return make_series(room, first_date=date(2026, 12, 3), weekdays=[3], count=8, **kwargs)


def held_days(series):
    lectures = recurrence.occurrences(
        series, start=NOW, end=datetime(2027, 6, 1, tzinfo=UTC), include_cancelled=False
    )
    return [o.local_start().date() for o in lectures]


def feed_events(series):
    body = feeds.series_feed(series, base_url="https://portal.example", now=NOW)
    return {str(e["uid"]): e for e in Calendar.from_ical(body).walk("VEVENT")}


def test_a_series_across_christmas_skips_the_tenants_holidays(tenant, host, room):
    christmas(tenant, host)
    series = across_christmas(room)
    days = held_days(series)
    assert date(2026, 12, 24) not in days and date(2026, 12, 31) not in days
    assert days == [date(2026, 12, d) for d in (3, 10, 17)] + [date(2027, 1, d) for d in (7, 14, 21)]
    # Shown as cancelled with the holiday's name, in the feed too.
    cancelled = [e for e in feed_events(series).values() if str(e["status"]) == "CANCELLED"]
    assert len(cancelled) == 2
    assert all("Christmas break" in str(e["description"]) for e in cancelled)


def test_holidays_added_later_reach_existing_series_and_removing_them_restores(tenant, host, room):
    series = across_christmas(room)
    assert len(held_days(series)) == 8
    period = christmas(tenant, host)
    series.refresh_from_db()
    assert len(held_days(series)) == 6
    academic.remove_academic_period(actor=host, period=period)
    series.refresh_from_db()
    assert len(held_days(series)) == 8
    assert AuditEntry.objects.filter(action="calendar.period_removed", target="Christmas break").exists()


def test_a_lecture_held_anyway_stays_held_when_the_calendar_changes(tenant, host, room):
    christmas(tenant, host)
    series = across_christmas(room)
    eve = recurrence.localize(date(2026, 12, 24), time(10, 15), recurrence.zone("Europe/Zurich"))
    services.restore_occurrence(actor=host, series=series, original_start=eve)
    academic.add_academic_period(
        actor=host,
        tenant=tenant,
        kind="holiday",
        title="Epiphany",
        first_day=date(2027, 1, 6),
        last_day=date(2027, 1, 6),
    )
    series.refresh_from_db()
    days = held_days(series)
    assert date(2026, 12, 24) in days and date(2026, 12, 31) not in days


def test_series_may_hold_lectures_on_holidays(tenant, host, room):
    christmas(tenant, host)
    series = across_christmas(room, skip_holidays=False)
    assert len(held_days(series)) == 8


def test_a_moved_lecture_keeps_its_feed_uid(tenant, host, room):
    christmas(tenant, host)
    series = across_christmas(room)
    before = feed_events(series)
    original = recurrence.localize(date(2026, 12, 10), time(10, 15), recurrence.zone("Europe/Zurich"))
    uid = next(u for u, e in before.items() if e.decoded("dtstart").date() == date(2026, 12, 10))
    services.move_occurrence(
        actor=host, series=series, original_start=original, new_date=date(2026, 12, 11), new_time=time(14, 0)
    )
    series.refresh_from_db()
    after = feed_events(series)
    assert set(after) == set(before)  # the same events, none new, none gone
    assert after[uid].decoded("dtstart").date() == date(2026, 12, 11)
    assert int(after[uid]["sequence"]) > int(before[uid]["sequence"])


def test_the_preview_names_skipped_holidays_and_overlaps(client, tenant, host, room):
    christmas(tenant, host)
    other = make_room(host, tenant, title="Geometry")
    make_series(
        other, title="Geometry", first_date=date(2026, 12, 3), weekdays=[3], count=2, start_time=time(11, 0)
    )
    client.force_login(host)
    response = client.get(
        "/uzh/series-preview/",
        {
            "first_date": "2026-12-03",
            "start_time": "10:15",
            "duration_minutes": "90",
            "interval_weeks": "1",
            "weekdays": ["3"],
            "count": "8",
            "time_zone": "Europe/Zurich",
            "join_opens_minutes": "15",
            "grace_minutes": "15",
        },
    )
    data = response.json()
    assert (data["held"], data["skipped"], data["overlaps"]) == (6, 2, 2)
    assert [d["date"] for d in data["dates"] if d["holiday"]] == ["2026-12-24", "2026-12-31"]
    assert {d["overlaps"] for d in data["dates"] if d["overlaps"]} == {"Geometry"}
    # Incomplete input: no dates, a message, no error status.
    assert client.get("/uzh/series-preview/", {"start_time": "10:15"}).json()["dates"] == []


def test_the_preview_is_for_lecturers(client, member):
    client.force_login(member)
    assert client.get("/uzh/series-preview/").status_code == 403


def test_overlap_is_warned_when_scheduling(client, tenant, host, room):
    make_series(room, title="Algebra", first_date=date(2027, 3, 1), weekdays=[0], count=4)
    other = make_room(host, tenant, title="Geometry")
    client.force_login(host)
    response = client.post(
        f"/uzh/rooms/{other.name}/series/new/",
        {
            "first_date": "2027-03-01",
            "start_time": "11:00",
            "duration_minutes": "60",
            "interval_weeks": "1",
            "weekdays": ["0"],
            "count": "2",
            "time_zone": "Europe/Zurich",
            "join_opens_minutes": "15",
            "grace_minutes": "15",
        },
        follow=True,
    )
    text = response.content.decode()
    assert "2 lectures overlap with “Algebra”" in text


def test_new_room_form_creates_the_room_with_its_series_and_lands_on_the_room(client, tenant, host):
    client.force_login(host)
    response = client.post(
        "/uzh/rooms/new/",
        {
            "title": "Contract Law",
            "access": "tenant",
            "allow_participant_screen_sharing": "on",
            "access_code": "secret-42",
            "weekly": "on",
            "series-first_date": "2027-03-02",
            "series-start_time": "10:15",
            "series-duration_minutes": "90",
            "series-interval_weeks": "1",
            "series-count": "10",
            "series-time_zone": "Europe/Zurich",
            "series-join_opens_minutes": "15",
            "series-grace_minutes": "15",
        },
    )
    room = Room.objects.get(tenant=tenant, title="Contract Law")
    assert response.status_code == 302 and response["Location"] == f"/uzh/rooms/{room.name}/"
    assert room.access_code_hash
    series = LectureSeries.objects.get(room=room)
    assert (series.title, series.count, series.skip_holidays) == ("Contract Law", 10, True)


def test_new_room_form_without_weekly_ignores_the_series_fields(client, tenant, host):
    client.force_login(host)
    response = client.post(
        "/uzh/rooms/new/", {"title": "Office hours", "access": "link", "series-first_date": "garbage"}
    )
    assert response.status_code == 302
    assert not LectureSeries.objects.filter(room__title="Office hours").exists()


def test_students_follow_institution_wide_series_into_their_feed(client, tenant, host, member, room):
    series = make_series(room, first_date=date(2026, 11, 2), count=4)
    client.force_login(member)
    page = client.get("/uzh/lectures/").content.decode()
    assert 'data-testid="follow"' in page
    assert client.post(f"/uzh/lectures/{series.code}/follow/", {"follow": "1"}).status_code == 302
    feed = PersonalFeed.objects.get(tenant=tenant, user=member)
    body = feeds.person_feed(tenant, member, base_url="https://portal.example", now=NOW).decode()
    assert body.count("BEGIN:VEVENT") == 4
    assert client.get(f"/uzh/feeds/{feed.token}.ics").status_code == 200
    client.post(f"/uzh/lectures/{series.code}/follow/", {"follow": "0"})
    body = feeds.person_feed(tenant, member, base_url="https://portal.example", now=NOW).decode()
    assert "BEGIN:VEVENT" not in body


def test_link_only_series_cannot_be_followed(client, tenant, host, member):
    room = make_room(host, tenant, title="Private", access=Room.Access.LINK)
    series = make_series(room)
    services.add_invitee(actor=host, room=room, user=member)
    client.force_login(member)
    assert client.post(f"/uzh/lectures/{series.code}/follow/", {"follow": "1"}).status_code == 400


def test_outsiders_cannot_follow(client, outsider, host, tenant, room):
    series = make_series(room)
    client.force_login(outsider)
    assert client.post(f"/uzh/lectures/{series.code}/follow/", {"follow": "1"}).status_code == 404


def test_students_do_not_see_my_rooms(client, member, host):
    client.force_login(member)
    page = client.get("/uzh/lectures/").content.decode()
    assert 'data-testid="nav-rooms"' not in page and "/uzh/rooms/" not in page
    client.force_login(host)
    assert 'data-testid="nav-rooms"' in client.get("/uzh/lectures/").content.decode()


def test_academic_calendar_console_page(client, tenant, admin_user, host):
    client.force_login(admin_user)
    response = client.post(
        "/uzh/manage/calendar/",
        {
            "action": "add",
            "kind": "semester",
            "title": "Spring 2027",
            "first_day": "2027-02-15",
            "last_day": "2027-05-28",
        },
    )
    assert response.status_code == 302
    period = AcademicPeriod.objects.get(tenant=tenant)
    assert "Spring 2027" in client.get("/uzh/manage/calendar/").content.decode()
    bad = client.post(
        "/uzh/manage/calendar/",
        {
            "action": "add",
            "kind": "holiday",
            "title": "x",
            "first_day": "2027-02-15",
            "last_day": "2027-01-01",
        },
    )
    assert bad.status_code == 400 and "on or after the first day" in bad.content.decode()
    client.post("/uzh/manage/calendar/", {"action": "remove", "period": period.code})
    assert not AcademicPeriod.objects.filter(tenant=tenant).exists()
    client.force_login(host)
    assert client.get("/uzh/manage/calendar/").status_code == 403


def test_anonymous_creator_is_an_anonymous_visitor_in_the_audit_log(client, tenant, admin_user, settings):
    from django.utils import timezone

    from meetings import anonymous

    settings.ANONYMOUS_TENANT = "uzh"
    anonymous.create_anonymous_room(tenant=tenant, now=timezone.now())
    client.force_login(admin_user)
    page = client.get("/uzh/manage/audit/").content.decode()
    row = re.search(r'<li data-testid="audit-row">.*?</li>', page, re.S)  # the audit log in sentences
    assert row is not None
    assert "anonymous visitor" in row.group(0).lower() and "operator" not in row.group(0).lower()


def test_room_page_has_start_button_and_share_panel(client, host, room):
    client.force_login(host)
    page = client.get(f"/uzh/rooms/{room.name}/").content.decode()
    assert 'data-testid="start-meeting"' in page and f'href="/uzh/r/{room.name}/"' in page
    assert 'data-testid="copy-link"' in page and 'data-testid="qr-code"' in page
    assert 'data-testid="invitation"' in page


def test_calendar_changes_only_touch_calendar_cancellations(tenant, host, room):
    series = across_christmas(room)
    eve = recurrence.localize(date(2026, 12, 24), time(10, 15), recurrence.zone("Europe/Zurich"))
    services.cancel_occurrence(actor=host, series=series, original_start=eve, note="Ill")
    christmas(tenant, host)
    change = OccurrenceChange.objects.get(series=series, original_start=eve)
    assert (change.note, change.from_calendar) == ("Ill", False)


def test_a_new_series_ends_with_the_current_semester_by_default(client, tenant, host, room, admin_user):
    from django.utils import timezone

    today = timezone.localdate()
    academic.add_academic_period(
        actor=admin_user,
        tenant=tenant,
        kind="semester",
        title="This term",
        first_day=today,
        last_day=today + timedelta(days=100),
    )
    client.force_login(host)
    form = client.get(f"/uzh/rooms/{room.name}/series/new/").context["form"]
    assert form.initial["until"] == today + timedelta(days=100)
