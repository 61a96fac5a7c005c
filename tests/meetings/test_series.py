"""Lecture series through their pages: schedule, change, cancel, move, restore; the students' page."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from meetings import recurrence
from meetings.models import LectureSeries, OccurrenceChange, Room
from tenants.models import AuditEntry
from tests.conftest import warm_request_caches
from tests.meetings.helpers import make_room, make_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(tenant, host):
    return make_room(host, tenant, title="Introduction to Law")


def series_data(**overrides):
    data = {
        "title": "",
        "first_date": "2026-03-02",
        "start_time": "10:15",
        "duration_minutes": "90",
        "interval_weeks": "1",
        "weekdays": ["0"],
        "until": "",
        "count": "14",
        "time_zone": "Europe/Zurich",
        "join_opens_minutes": "15",
        "grace_minutes": "15",
    }
    data.update(overrides)
    return data


def test_host_schedules_a_weekly_series(client, room, host, tenant):
    client.force_login(host)
    assert client.get(f"/uzh/rooms/{room.name}/series/new/").status_code == 200
    response = client.post(f"/uzh/rooms/{room.name}/series/new/", series_data(weekdays=["0", "3"]))
    series = LectureSeries.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/uzh/rooms/{room.name}/series/{series.code}/"
    assert (series.tenant, series.room, series.title) == (tenant, room, "Introduction to Law")
    assert (series.weekdays, series.count, series.until) == ([0, 3], 14, None)
    assert len(series.code) == 10 and len(series.feed_token) >= 32
    assert AuditEntry.objects.filter(action="series.scheduled", target=room.name).exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"until": "2026-03-01", "count": ""}, "The last date must be on or after the first lecture."),
        ({"until": "", "count": ""}, "Give a last date or a number of lectures."),
        ({"until": "2026-06-01", "count": "3"}, "Give either a last date or a number of lectures, not both."),
        ({"count": "0"}, "A series has at least one lecture."),
        ({"count": "201"}, "A series has at most 200 lectures."),
        ({"duration_minutes": "4"}, "A lecture lasts at least 5 minutes."),
        ({"duration_minutes": "601"}, "A lecture lasts at most 600 minutes (10 hours)."),
        ({"interval_weeks": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"weekdays": ["7"]}, "Select a valid choice."),
        ({"time_zone": "Mars/Olympus"}, "Select a valid choice."),
        ({"first_date": "2026-02-30"}, "Enter a valid date."),
        ({"start_time": "25:00"}, "Enter a valid time."),
        ({"join_opens_minutes": "-5"}, "Ensure this value is greater than or equal to 0."),
    ],
)
def test_bad_series_input_is_explained_and_writes_nothing(client, room, host, overrides, message):
    client.force_login(host)
    response = client.post(f"/uzh/rooms/{room.name}/series/new/", series_data(**overrides))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert LectureSeries.objects.count() == 0


def test_series_in_another_time_zone(client, room, host):
    client.force_login(host)
    client.post(f"/uzh/rooms/{room.name}/series/new/", series_data(time_zone="America/New_York", count="1"))
    series = LectureSeries.objects.get()
    (lecture,) = recurrence.occurrences(
        series, start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2027, 1, 1, tzinfo=UTC)
    )
    assert lecture.start == datetime(2026, 3, 2, 15, 15, tzinfo=UTC)


def test_host_changes_the_series(client, room, host):
    series = make_series(room)
    client.force_login(host)
    url = f"/uzh/rooms/{room.name}/series/{series.code}/edit/"
    assert client.get(url).status_code == 200
    response = client.post(url, series_data(title="Law I", start_time="08:15", count="", until="2026-07-01"))
    assert response.status_code == 302
    series.refresh_from_db()
    assert (series.title, series.start_time.hour, series.count, series.until) == (
        "Law I",
        8,
        None,
        date(2026, 7, 1),
    )
    assert series.revision == 1
    response = client.post(url, series_data(duration_minutes="700"))
    assert response.status_code == 200
    series.refresh_from_db()
    assert series.duration_minutes == 90


def lecture_keys(series):
    return [
        o.key
        for o in recurrence.occurrences(
            series, start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2027, 1, 1, tzinfo=UTC)
        )
    ]


def test_cancel_move_and_restore_lectures_through_pages(client, room, host, tenant):
    series = make_series(room, first_date=date.today() + timedelta(days=1), weekdays=[], count=4)
    keys = lecture_keys(series)
    base = f"/uzh/rooms/{room.name}/series/{series.code}/lectures/"
    client.force_login(host)
    assert client.get(f"{base}{keys[0]}/cancel/").status_code == 200
    assert client.post(f"{base}{keys[0]}/cancel/", {"note": "Conference"}).status_code == 302
    change = OccurrenceChange.objects.get()
    assert (change.kind, change.note, change.tenant) == ("cancelled", "Conference", tenant)

    second = recurrence.find_occurrence(series, keys[1])
    assert second is not None
    new_day = (second + timedelta(days=1)).astimezone(ZoneInfo("Europe/Zurich")).date()
    response = client.post(
        f"{base}{keys[1]}/move/",
        {"new_date": new_day.isoformat(), "new_time": "14:00", "note": "Room change"},
    )
    assert response.status_code == 302
    moved = OccurrenceChange.objects.get(kind="moved")
    assert moved.new_start.astimezone(ZoneInfo("Europe/Zurich")).strftime("%H:%M") == "14:00"

    detail = client.get(f"/uzh/rooms/{room.name}/series/{series.code}/").content.decode()
    assert "cancelled" in detail and "moved" in detail and "Room change" in detail

    assert client.post(f"{base}{keys[0]}/restore/").status_code == 302
    assert list(OccurrenceChange.objects.values_list("kind", flat=True)) == ["moved"]
    series.refresh_from_db()
    assert series.revision == 3


def test_unknown_or_malformed_lecture_is_404(client, room, host):
    series = make_series(room)
    client.force_login(host)
    base = f"/uzh/rooms/{room.name}/series/{series.code}/lectures/"
    for key in ("20260303T091500Z", "yesterday", "20260302T091500"):
        assert client.post(f"{base}{key}/cancel/").status_code == 404
        assert client.get(f"{base}{key}/move/").status_code == 404
    assert OccurrenceChange.objects.count() == 0


def test_move_into_the_spring_gap_is_refused(client, room, host):
    series = make_series(room)
    client.force_login(host)
    key = lecture_keys(series)[0]
    response = client.post(
        f"/uzh/rooms/{room.name}/series/{series.code}/lectures/{key}/move/",
        {"new_date": "2026-03-29", "new_time": "02:30"},
    )
    assert response.status_code == 200
    assert "That time does not exist on that day: the clocks change then." in response.content.decode()
    assert OccurrenceChange.objects.count() == 0


def test_delete_series_reopens_the_room(client, room, host):
    series = make_series(room)
    client.force_login(host)
    url = f"/uzh/rooms/{room.name}/series/{series.code}/delete/"
    assert client.get(url).status_code == 200
    assert client.post(url).status_code == 302
    assert not LectureSeries.objects.exists()
    assert AuditEntry.objects.filter(action="series.deleted").exists()


def test_series_of_another_room_is_not_reachable_through_this_room(client, tenant, room, host):
    other = make_room(host, tenant, title="Other")
    series = make_series(other)
    client.force_login(host)
    assert client.get(f"/uzh/rooms/{room.name}/series/{series.code}/").status_code == 404


# Students' page --------------------------------------------------------------------------------


def soon_series(room, **kwargs):
    return make_series(room, first_date=date.today() + timedelta(days=1), weekdays=[], count=3, **kwargs)


def test_student_sees_upcoming_lectures_of_rooms_open_to_them(client, tenant, host, member, room):
    soon_series(room, title="Open lecture")
    invite_room = make_room(host, tenant, title="Invite room", access=Room.Access.INVITE)
    soon_series(invite_room, title="Seminar for invitees")
    link_room = make_room(host, tenant, title="Link room", access=Room.Access.LINK)
    soon_series(link_room, title="Unlisted lecture")
    archived = make_room(host, tenant, title="Old room")
    soon_series(archived, title="Archived lecture")
    archived.archived = True
    archived.save(update_fields=["archived"])

    client.force_login(member)
    content = client.get("/uzh/lectures/").content.decode()
    assert "Open lecture" in content and f'href="/uzh/r/{room.name}/"' in content
    for hidden in ("Seminar for invitees", "Unlisted lecture", "Archived lecture"):
        assert hidden not in content

    invite_room.invitees.add(member)
    content = client.get("/uzh/lectures/").content.decode()
    assert "Seminar for invitees" in content


def test_students_page_query_count_is_pinned(client, tenant, host, member, django_assert_num_queries):
    client.force_login(member)
    for i in range(2):
        soon_series(make_room(host, tenant, title=f"Room {i}"))
    warm_request_caches(tenant)  # per-process and shared caches: loaded outside the count
    client.get("/uzh/lectures/")  # and the signed-in user's row (tenants/hotcache.py)
    # tenant, membership, rooms, series, changes (prefetch), personal feed (session, user: cached)
    # ... the series followed and the rooms hosted (Follow and Start buttons), published recordings
    with django_assert_num_queries(9):
        response = client.get("/uzh/lectures/")
    assert len(response.context["lectures"]) == 4  # tomorrow and a week later, two rooms
    for i in range(3):
        series = soon_series(make_room(host, tenant, title=f"More {i}"))
        OccurrenceChange.objects.create(
            tenant=tenant,
            series=series,
            kind="cancelled",
            original_start=recurrence.next_occurrences(series, after=datetime.now(UTC), limit=1)[
                0
            ].original_start,
        )
    warm_request_caches(tenant)
    # ... the series followed and the rooms hosted (Follow and Start buttons), published recordings
    with django_assert_num_queries(9):
        response = client.get("/uzh/lectures/")
    assert len(response.context["lectures"]) == 10
    assert sum(o.cancelled for o in response.context["lectures"]) == 3


def test_tenant_home_links_to_rooms_and_lectures(client, host, member):
    client.force_login(host)
    content = client.get("/uzh/").content.decode()
    assert 'href="/uzh/rooms/"' in content and 'href="/uzh/lectures/"' in content
    client.force_login(member)
    content = client.get("/uzh/").content.decode()
    assert 'href="/uzh/rooms/"' not in content and 'href="/uzh/lectures/"' in content


def test_move_page_of_a_lecture_moved_to_another_week_shows_where_it_is_now(client, room, host):
    series = make_series(room)
    client.force_login(host)
    url = f"/uzh/rooms/{room.name}/series/{series.code}/lectures/20260302T091500Z/move/"
    assert client.post(url, {"new_date": "2026-04-21", "new_time": "16:30"}).status_code == 302
    form = client.get(url).context["form"]
    assert (form.initial["new_date"], form.initial["new_time"].strftime("%H:%M")) == (
        date(2026, 4, 21),
        "16:30",
    )
    # The year guard: far-off dates are refused with a message, not a server error.
    response = client.post(url, {"new_date": "9999-12-31", "new_time": "23:00"})
    assert response.status_code == 200
    assert "between the years 1900 and 2999" in response.content.decode()
