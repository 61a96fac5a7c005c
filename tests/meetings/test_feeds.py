"""Calendar feeds parsed back with icalendar: lectures, times, cancelled and moved ones, secret tokens."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from meetings import recurrence, services
from meetings.models import Room
from tenants.models import Membership
from tests.conftest import warm_request_caches
from tests.meetings.helpers import make_room, make_series

pytestmark = pytest.mark.django_db
ZURICH = ZoneInfo("Europe/Zurich")


@pytest.fixture
def room(tenant, host):
    return make_room(host, tenant, title="Introduction to Law")


def next_monday() -> date:
    today = date.today()
    return today + timedelta(days=7 - today.weekday())


def events(response) -> list:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    return sorted(Calendar.from_ical(response.content).walk("VEVENT"), key=lambda e: e.decoded("dtstart"))


def test_series_feed_lists_lectures_with_local_times_and_join_link(client, room):
    series = make_series(room, first_date=next_monday(), count=3)
    response = client.get(f"/uzh/feeds/{series.feed_token}.ics")
    cal = Calendar.from_ical(response.content)
    assert [tz["TZID"] for tz in cal.walk("VTIMEZONE")] == ["Europe/Zurich"]
    found = events(response)
    assert len(found) == 3
    first = found[0]
    start = first.decoded("dtstart")
    assert start.tzinfo is not None and start.astimezone(ZURICH).time() == time(10, 15)
    assert start.astimezone(ZURICH).date() == next_monday()
    assert first.decoded("dtend") - start == timedelta(minutes=90)
    assert str(first["summary"]) == "Introduction to Law"
    assert str(first["url"]) == f"http://testserver/uzh/r/{room.name}/"
    assert str(first["status"]) == "CONFIRMED"
    assert len({str(e["uid"]) for e in found}) == 3


def next_clock_change() -> date:
    """The next last Sunday of March or October at least three weeks ahead (within the feed's range)."""
    candidates = []
    for year in (date.today().year, date.today().year + 1):
        for month in (3, 10):
            last = date(year, month, 31)
            candidates.append(last - timedelta(days=(last.weekday() + 1) % 7))
    return min(d for d in candidates if d > date.today() + timedelta(days=21))


def test_feed_keeps_wall_clock_time_across_the_clock_change(client, room):
    change = next_clock_change()
    assert change.weekday() == 6
    series = make_series(room, first_date=change - timedelta(days=13), count=4)  # two Mondays each side
    found = events(client.get(f"/uzh/feeds/{series.feed_token}.ics"))
    local = [e.decoded("dtstart").astimezone(ZURICH) for e in found]
    assert len(local) == 4
    assert {d.time() for d in local} == {time(10, 15)}
    assert {d.utcoffset() for d in local} == {timedelta(hours=2), timedelta(hours=1)}
    assert local[1].utcoffset() != local[2].utcoffset()


def test_cancelled_and_moved_lectures_in_the_feed(client, room, host):
    series = make_series(room, first_date=next_monday(), count=3)
    first, second, _third = recurrence.next_occurrences(series, after=datetime.now(UTC), limit=3)
    services.cancel_occurrence(actor=host, series=series, original_start=first.original_start, note="Ill")
    services.move_occurrence(
        actor=host,
        series=series,
        original_start=second.original_start,
        new_date=second.local_start().date() + timedelta(days=1),
        new_time=time(16, 0),
        new_duration_minutes=60,
    )
    found = events(client.get(f"/uzh/feeds/{series.feed_token}.ics"))
    by_uid = {str(e["uid"]): e for e in found}
    cancelled = by_uid[f"{series.code}-{first.key}@uzh.auditorium"]
    assert str(cancelled["status"]) == "CANCELLED"
    assert "Ill" in str(cancelled["description"])
    moved = by_uid[f"{series.code}-{second.key}@uzh.auditorium"]
    moved_start = moved.decoded("dtstart").astimezone(ZURICH)
    assert (moved_start.date(), moved_start.time()) == (
        second.local_start().date() + timedelta(days=1),
        time(16, 0),
    )
    assert moved.decoded("dtend") - moved.decoded("dtstart") == timedelta(minutes=60)
    assert str(moved["status"]) == "CONFIRMED"
    assert int(moved["sequence"]) == 2  # two changes: clients replace the earlier version


def test_rotated_feed_token_makes_the_old_url_404(client, room, host):
    series = make_series(room, first_date=next_monday())
    old = series.feed_token
    client.force_login(host)
    response = client.post(f"/uzh/rooms/{room.name}/series/{series.code}/rotate-feed/")
    assert response.status_code == 302
    series.refresh_from_db()
    assert series.feed_token != old
    client.logout()
    assert client.get(f"/uzh/feeds/{old}.ics").status_code == 404
    assert client.get(f"/uzh/feeds/{series.feed_token}.ics").status_code == 200


def test_feed_of_another_tenant_is_unreachable(client, room, other_tenant):
    series = make_series(room, first_date=next_monday())
    assert client.get(f"/eth/feeds/{series.feed_token}.ics").status_code == 404
    assert client.get("/uzh/feeds/not-a-token.ics").status_code == 404


def test_feed_of_an_archived_room_is_gone(client, room, host):
    series = make_series(room, first_date=next_monday())
    services.archive_room(actor=host, room=room)
    assert client.get(f"/uzh/feeds/{series.feed_token}.ics").status_code == 404


def test_personal_feed_of_a_host_and_an_invitee(client, tenant, room, host, member):
    make_series(room, first_date=next_monday(), count=2, title="Law")
    invite_room = make_room(host, tenant, title="Seminar", access=Room.Access.INVITE)
    make_series(invite_room, first_date=next_monday(), count=1, title="Seminar")
    client.force_login(member)
    assert client.post("/uzh/lectures/feed/rotate/").status_code == 302
    page = client.get("/uzh/lectures/")
    url = page.context["personal_feed_url"]
    assert url.startswith("http://testserver/uzh/feeds/")
    path = url.removeprefix("http://testserver")
    client.logout()
    assert events(client.get(path)) == []  # tenant-wide lectures are subscribed per series, not here

    services.add_invitee(actor=host, room=invite_room, email=member.email)
    assert [str(e["summary"]) for e in events(client.get(path))] == ["Seminar"]

    host_feed = services.ensure_personal_feed(actor=host, tenant=tenant)
    assert sorted(str(e["summary"]) for e in events(client.get(f"/uzh/feeds/{host_feed.token}.ics"))) == [
        "Law",
        "Law",
        "Seminar",
    ]
    # Another tenant's path does not serve it; a blocked member loses it; rotating kills the old link.
    assert client.get(path.replace("/uzh/", "/eth/")).status_code == 404
    Membership.objects.filter(user=member, tenant=tenant).update(is_blocked=True)
    assert client.get(path).status_code == 404
    Membership.objects.filter(user=member, tenant=tenant).update(is_blocked=False)
    client.force_login(member)
    client.post("/uzh/lectures/feed/rotate/")
    assert client.get(path).status_code == 404


def test_series_download_for_members_the_room_is_open_to(client, tenant, room, member, outsider, host):
    series = make_series(room, first_date=next_monday(), count=2)
    invite_room = make_room(host, tenant, title="Seminar", access=Room.Access.INVITE)
    hidden = make_series(invite_room, first_date=next_monday(), count=1)
    client.force_login(member)
    response = client.get(f"/uzh/lectures/{series.code}.ics")
    assert len(events(response)) == 2
    assert response["Content-Disposition"] == f'attachment; filename="{room.name}-{series.code}.ics"'
    assert client.get(f"/uzh/lectures/{hidden.code}.ics").status_code == 404
    client.force_login(outsider)
    assert client.get(f"/uzh/lectures/{series.code}.ics").status_code == 404
    assert client.get(f"/eth/lectures/{series.code}.ics").status_code == 404


def test_feed_query_counts_do_not_grow_with_lectures_or_series(
    client, tenant, host, django_assert_num_queries
):
    rooms = [make_room(host, tenant, title=f"Room {i}") for i in range(3)]
    series = make_series(rooms[0], first_date=next_monday(), count=5)
    services.cancel_occurrence(
        actor=host,
        series=series,
        original_start=recurrence.next_occurrences(series, after=datetime.now(UTC), limit=1)[
            0
        ].original_start,
    )
    for room in rooms[1:]:
        make_series(room, first_date=next_monday(), count=40)
    feed = services.ensure_personal_feed(actor=host, tenant=tenant)
    warm_request_caches(tenant)  # per-process and shared caches: loaded outside the count
    # tenant, series by token, its changes
    with django_assert_num_queries(3):
        assert len(events(client.get(f"/uzh/feeds/{series.feed_token}.ics"))) == 5
    # tenant, no series with that token, personal feed, the person's series, their changes
    with django_assert_num_queries(5):
        assert len(events(client.get(f"/uzh/feeds/{feed.token}.ics"))) == 85
