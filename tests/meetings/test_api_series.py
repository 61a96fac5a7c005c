"""Lecture series through the API: every endpoint for every kind of caller, mass assignment, bad shapes,
computed lectures with cancellations and moves, the same services (and audit rows) as the pages."""

from __future__ import annotations

from datetime import date, time

import pytest
from rest_framework.test import APIClient

from meetings.models import LectureSeries, OccurrenceChange, Room
from tenants.models import AuditEntry, Membership
from tests.api_support import assert_error, bearer_client, session_client, token_for
from tests.factories import MembershipFactory, RoomFactory, UserFactory
from tests.meetings.helpers import make_series

# 2026-03-02 is a Monday; Zurich is at +01:00 until the clocks change on 2026-03-29.
FIRST = "20260302T091500Z"


@pytest.fixture
def cohost(tenant):
    return MembershipFactory(
        tenant=tenant, role=Membership.Role.HOST, user=UserFactory(username="cohost")
    ).user


@pytest.fixture
def room(tenant, host, cohost):
    room = RoomFactory(
        tenant=tenant, owner=host, title="Algebra", name="algebra-k3x9", access=Room.Access.TENANT
    )
    room.co_hosts.add(cohost)
    return room


@pytest.fixture
def series(room):
    return make_series(room)


@pytest.fixture
def clients(tenant, other_tenant, host, member, admin_user, outsider, cohost):
    return {
        "anonymous": APIClient(),
        "no_scope": bearer_client(token_for(host, tenant, scopes=["join"])),
        "member": bearer_client(token_for(member, tenant)),
        "host": bearer_client(token_for(host, tenant)),
        "cohost": bearer_client(token_for(cohost, tenant)),
        "admin": bearer_client(token_for(admin_user, tenant)),
        "outsider": bearer_client(token_for(outsider, other_tenant)),
    }


NEW_SERIES = {"first_date": "2026-04-13", "start_time": "14:15", "count": 3}
ENDPOINTS = [
    ("get", "/api/v1/rooms/algebra-k3x9/series/", None, 200),
    ("post", "/api/v1/rooms/algebra-k3x9/series/", NEW_SERIES, 201),
    ("get", "/api/v1/series/<code>/", None, 200),
    ("patch", "/api/v1/series/<code>/", {"title": "Algebra II"}, 200),
    ("get", "/api/v1/series/<code>/occurrences/?from=2026-03-01&to=2026-03-31", None, 200),
    ("post", f"/api/v1/series/<code>/occurrences/{FIRST}/cancel/", {"note": "ill"}, 200),
    (
        "post",
        f"/api/v1/series/<code>/occurrences/{FIRST}/move/",
        {"new_date": "2026-03-03", "new_time": "08:00"},
        200,
    ),
    ("post", f"/api/v1/series/<code>/occurrences/{FIRST}/restore/", None, 200),
    ("delete", "/api/v1/series/<code>/", None, 204),
]
WRITES = {"post", "patch", "delete"}
ids = [f"{m} {p}" for m, p, _d, _s in ENDPOINTS]


def _call(client, series, method, path, data, _status=None):
    return getattr(client, method)(path.replace("<code>", series.code), data or {}, format="json")


def _unchanged(series):
    series.refresh_from_db()
    assert (series.title, series.revision) == ("Introduction to Law", 0)
    assert not OccurrenceChange.objects.exists()
    assert LectureSeries.objects.count() == 1


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_anonymous_gets_401(series, clients, endpoint):
    assert_error(_call(clients["anonymous"], series, *endpoint), 401, "not_authenticated")
    _unchanged(series)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_token_without_the_scope_gets_403(series, clients, endpoint):
    error = assert_error(_call(clients["no_scope"], series, *endpoint), 403, "missing_scope")
    assert "scope" in error["message"]
    _unchanged(series)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_member_who_sees_the_room_gets_403(series, clients, endpoint):
    code = "missing_scope" if endpoint[0] in WRITES else "not_host"
    assert_error(_call(clients["member"], series, *endpoint), 403, code)
    _unchanged(series)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
@pytest.mark.parametrize("actor", ["host", "cohost", "admin"])
def test_hosts_and_admin(series, clients, endpoint, actor):
    response = _call(clients[actor], series, *endpoint)
    assert response.status_code == endpoint[3], response.content


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_outsider_gets_404(series, clients, endpoint):
    error = assert_error(_call(clients["outsider"], series, *endpoint), 404, "not_found")
    assert "algebra-k3x9" in error["message"] or series.code in error["message"]
    _unchanged(series)


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=ids)
def test_other_host_of_the_tenant_gets_403_or_404(series, tenant, endpoint):
    other = MembershipFactory(tenant=tenant, role=Membership.Role.HOST, user=UserFactory(username="h2")).user
    response = _call(bearer_client(token_for(other, tenant)), series, *endpoint)
    assert_error(response, 403, "not_host")  # the room is open to the tenant: it exists, but is not theirs
    Room.objects.filter(pk=series.room_id).update(access=Room.Access.INVITE)
    assert_error(_call(bearer_client(token_for(other, tenant)), series, *endpoint), 404, "not_found")
    _unchanged(series)


def test_outsider_session_naming_our_tenant_gets_404(series, outsider):
    client = session_client(outsider)
    assert_error(client.get(f"/api/v1/series/{series.code}/", HTTP_X_TENANT="uzh"), 404, "tenant_not_found")


def test_schedule_series_uses_the_service_and_ignores_mass_assignment(room, host, tenant, other_tenant):
    payload = {
        **NEW_SERIES,
        "weekdays": [0, 2],
        "tenant": other_tenant.pk,
        "room": "other-room",
        "code": "chosen",
        "feed_token": "chosen-token",
        "revision": 99,
        "created_by": 1,
    }
    response = bearer_client(token_for(host, tenant)).post(
        "/api/v1/rooms/algebra-k3x9/series/", payload, format="json"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    series = LectureSeries.objects.get(code=body["code"])
    assert (series.tenant, series.room, series.created_by, series.revision) == (tenant, room, host, 0)
    assert series.code != "chosen" and series.feed_token != "chosen-token"
    assert (series.title, series.time_zone, series.duration_minutes, series.weekdays) == (
        "Algebra",  # the room's title, as on the page
        tenant.time_zone,
        90,
        [0, 2],
    )
    assert body["room"] == "algebra-k3x9" and body["feed_url"].endswith(f"/uzh/feeds/{series.feed_token}.ics")
    assert AuditEntry.objects.filter(action="series.scheduled", actor=host, data__series=series.code).exists()


def test_patch_ignores_mass_assignment_and_keeps_other_fields(series, host, tenant, other_tenant):
    token, code = series.feed_token, series.code
    response = bearer_client(token_for(host, tenant)).patch(
        f"/api/v1/series/{code}/",
        {"duration_minutes": 45, "code": "x", "feed_token": "y", "revision": 0, "tenant": other_tenant.pk},
        format="json",
    )
    assert response.status_code == 200, response.content
    series.refresh_from_db()
    assert (series.code, series.feed_token, series.tenant) == (code, token, tenant)
    assert (series.duration_minutes, series.count, series.start_time, series.revision) == (
        45,
        12,
        time(10, 15),
        1,
    )
    assert AuditEntry.objects.get(action="series.changed").data["fields"] == ["duration_minutes"]


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"start_time": "10:00", "count": 3}, "first_date", "required"),
        ({**NEW_SERIES, "first_date": "not a date"}, "first_date", "Date has wrong format"),
        ({**NEW_SERIES, "count": 0}, "count", "A series has at least one lecture."),
        ({**NEW_SERIES, "count": 201}, "count", "A series has at most 200 lectures."),
        ({**NEW_SERIES, "duration_minutes": 2}, "duration_minutes", "A lecture lasts at least 5 minutes."),
        ({**NEW_SERIES, "weekdays": [7]}, "weekdays", "Select a valid choice."),
        ({**NEW_SERIES, "weekdays": "monday"}, "weekdays", "list"),
        ({**NEW_SERIES, "count": None, "until": "2026-04-01"}, "until", "on or after the first lecture"),
        ({**NEW_SERIES, "until": "2026-05-01"}, "non_field_errors", "not both"),
        ({"first_date": "2026-04-13", "start_time": "14:15"}, "non_field_errors", "last date or a number"),
        ({**NEW_SERIES, "time_zone": "Mars/Olympus"}, "time_zone", "Select a valid choice."),
        ({**NEW_SERIES, "interval_weeks": 53}, "interval_weeks", "52"),
        ({**NEW_SERIES, "title": ["x"]}, "title", "valid string"),
        ({**NEW_SERIES, "first_date": "9999-12-31"}, "first_date", "between the years 1900 and 2999"),
        ({**NEW_SERIES, "count": None, "until": "9999-12-31"}, "until", "between the years"),
    ],
)
def test_bad_series_input_names_the_field_with_the_pages_message(room, host, tenant, payload, field, message):
    client = bearer_client(token_for(host, tenant))
    error = assert_error(
        client.post("/api/v1/rooms/algebra-k3x9/series/", payload, format="json"), 400, "invalid"
    )
    if field == "non_field_errors":
        assert message in error["message"], error
    else:
        assert message in " ".join(error["fields"][field]), error
    assert not LectureSeries.objects.exists()


def test_bad_patch_changes_nothing(series, host, tenant):
    client = bearer_client(token_for(host, tenant))
    error = assert_error(
        client.patch(f"/api/v1/series/{series.code}/", {"until": "2026-12-01"}, format="json"), 400, "invalid"
    )
    assert "not both" in error["message"]
    assert_error(client.patch(f"/api/v1/series/{series.code}/", {"count": "many"}, format="json"), 400)
    _unchanged(series)


def test_occurrences_are_computed_with_offsets_cancellations_and_moves(series, host, tenant):
    client = bearer_client(token_for(host, tenant))
    base = f"/api/v1/series/{series.code}/occurrences/"
    assert client.post(f"{base}20260309T091500Z/cancel/", {"note": "Exam week"}, format="json").json() == {
        "key": "20260309T091500Z",
        "original_start": "2026-03-09T10:15:00+01:00",
        "start": "2026-03-09T10:15:00+01:00",
        "end": "2026-03-09T11:45:00+01:00",
        "status": "cancelled",
        "note": "Exam week",
    }
    # The same lecture named by its ISO start with offset.
    moved = client.post(
        f"{base}2026-03-16T10:15:00+01:00/move/",
        {"new_date": "2026-03-17", "new_time": "14:00", "new_duration_minutes": 60},
        format="json",
    ).json()
    assert (moved["key"], moved["start"], moved["end"], moved["status"]) == (
        "20260316T091500Z",
        "2026-03-17T14:00:00+01:00",
        "2026-03-17T15:00:00+01:00",
        "moved",
    )
    lectures = client.get(f"{base}?from=2026-03-01&to=2026-03-31").json()
    assert [(o["start"], o["status"]) for o in lectures] == [
        ("2026-03-02T10:15:00+01:00", "scheduled"),
        ("2026-03-09T10:15:00+01:00", "cancelled"),
        ("2026-03-17T14:00:00+01:00", "moved"),
        ("2026-03-23T10:15:00+01:00", "scheduled"),
        ("2026-03-30T10:15:00+02:00", "scheduled"),  # summer time: same wall clock, new offset
    ]
    restored = client.post(f"{base}20260316T091500Z/restore/").json()
    assert (restored["status"], restored["start"]) == ("scheduled", "2026-03-16T10:15:00+01:00")
    actions = list(
        AuditEntry.objects.filter(action__startswith="series.lecture_").values_list("action", flat=True)
    )
    assert sorted(actions) == ["series.lecture_cancelled", "series.lecture_moved", "series.lecture_restored"]
    series.refresh_from_db()
    assert series.revision == 3


def test_occurrence_range_and_keys_are_checked(series, host, tenant):
    client = bearer_client(token_for(host, tenant))
    base = f"/api/v1/series/{series.code}/occurrences/"
    for query, field in (
        ("?from=yesterday", "from"),
        ("?from=2026-02-30", "from"),
        ("?from=0001-01-01T00:00:00Z", "from"),
        ("?from=2026-03-10&to=2026-03-01", "to"),
        ("?from=2026-01-01&to=2028-01-01", "to"),
    ):
        error = assert_error(client.get(base + query), 400, "invalid")
        assert list(error["fields"]) == [field], (query, error)
    # A time with an offset and a naive one in the series' zone agree.
    assert client.get(base + "?from=2026-03-02T10:00:00&to=2026-03-02T10:30:00").json()[0]["key"] == FIRST
    assert client.get(base + "?from=2026-03-02T09:00:00Z&to=2026-03-02T09:30:00Z").json()[0]["key"] == FIRST
    for key in ("20260303T091500Z", "2026-03-02T10:15:00", "99999999T999999Z", "99991231T231500Z"):
        assert_error(client.post(f"{base}{key}/cancel/", {}, format="json"), 404, "no_such_lecture")
    # Outside a lecture key's alphabet no route matches (portal/converters.py).
    assert_error(client.post(f"{base}garbage/cancel/", {}, format="json"), 404, "no_endpoint")
    assert not OccurrenceChange.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({}, "new_date", "required"),
        ({"new_date": "9999-12-31", "new_time": "23:00"}, "new_date", "between the years"),
        ({"new_date": "2026-03-29", "new_time": "02:30"}, "new_time", "the clocks change then"),
        ({"new_date": "2026-03-03", "new_time": "25:00"}, "new_time", "wrong format"),
        (
            {"new_date": "2026-03-03", "new_time": "08:00", "new_duration_minutes": 1},
            "new_duration_minutes",
            "5",
        ),
        ({"new_date": "2026-03-03", "new_time": "08:00", "note": "x" * 201}, "note", "200"),
    ],
)
def test_bad_move_names_the_field(series, host, tenant, payload, field, message):
    client = bearer_client(token_for(host, tenant))
    error = assert_error(
        client.post(f"/api/v1/series/{series.code}/occurrences/{FIRST}/move/", payload, format="json"),
        400,
        "invalid",
    )
    assert message in " ".join(error["fields"][field]), error
    _unchanged(series)


def test_series_of_an_archived_room_are_read_only(series, host, tenant, room):
    Room.objects.filter(pk=room.pk).update(archived=True)
    client = bearer_client(token_for(host, tenant))
    assert client.get(f"/api/v1/series/{series.code}/").status_code == 200
    assert_error(
        client.patch(f"/api/v1/series/{series.code}/", {"title": "x"}, format="json"), 409, "room_archived"
    )
    assert_error(
        client.post("/api/v1/rooms/algebra-k3x9/series/", NEW_SERIES, format="json"), 409, "room_archived"
    )
    assert_error(
        client.post(f"/api/v1/series/{series.code}/occurrences/{FIRST}/cancel/"), 409, "room_archived"
    )
    _unchanged(series)


def test_delete_series_audits(series, host, tenant):
    client = bearer_client(token_for(host, tenant))
    assert client.delete(f"/api/v1/series/{series.code}/").status_code == 204
    assert not LectureSeries.objects.exists()
    assert AuditEntry.objects.filter(action="series.deleted", data__series=series.code).exists()
    assert_error(client.get(f"/api/v1/series/{series.code}/"), 404)


@pytest.mark.parametrize("count", [1, 15])
def test_series_list_query_count_is_pinned(room, host, tenant, django_assert_num_queries, count):
    for n in range(count):
        make_series(room, first_date=date(2026, 3, 2 + n % 5))
    client = bearer_client(token_for(host, tenant))
    client.get("/api/v1/rooms/algebra-k3x9/series/")
    # token, membership, room, its co-hosts, count, series
    with django_assert_num_queries(6):
        body = client.get("/api/v1/rooms/algebra-k3x9/series/").json()
    assert body["count"] == count


@pytest.mark.parametrize("changes", [0, 4])
def test_occurrence_list_query_count_is_pinned(series, host, tenant, django_assert_num_queries, changes):
    client = bearer_client(token_for(host, tenant))
    for week in range(changes):
        client.post(f"/api/v1/series/{series.code}/occurrences/202603{2 + 7 * week:02d}T091500Z/cancel/")
    url = f"/api/v1/series/{series.code}/occurrences/?from=2026-03-01&to=2026-06-30"
    client.get(url)
    # token, membership, series with room, the room's co-hosts, the series' changes
    with django_assert_num_queries(5):
        body = client.get(url).json()
    assert len(body) == 12 and sum(o["status"] == "cancelled" for o in body) == changes
