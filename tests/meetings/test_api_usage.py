"""API: a room's live count and the institution's usage statistics."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from meetings.models import MeetingSession, Occupancy, Room
from tests.api_support import assert_error, bearer_client, session_client, token_for
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db
ZURICH = ZoneInfo("Europe/Zurich")


@pytest.fixture(autouse=True)
def _fresh_throttles():
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def live_room(tenant, host):
    room = RoomFactory(tenant=tenant, owner=host, name="algebra", access=Room.Access.TENANT)
    started = timezone.now() - timedelta(minutes=20)
    session = MeetingSession.objects.create(
        tenant=tenant,
        deployment=tenant.deployment,
        room=room,
        room_name=room.name,
        created_at=started,
        current_count=3,
        peak_participants=3,
        version=1,
    )
    for n in range(3):
        Occupancy.objects.create(
            tenant=tenant,
            deployment=tenant.deployment,
            session=session,
            occupant_jid=f"u{n}@x/1",
            joined_at=started + timedelta(minutes=n),
            participant_id=f"p{n}",
        )
    return room


def test_member_reads_the_live_count(member, live_room):
    response = session_client(member).get("/api/v1/rooms/algebra/count/")
    assert response.status_code == 200
    assert response.json() == {"type": "participants", "room": "algebra", "count": 3}


def test_count_needs_rooms_read_and_hides_other_tenants(tenant, member, outsider, live_room):
    assert_error(APIClient().get("/api/v1/rooms/algebra/count/"), 401)
    no_scope = bearer_client(token_for(member, tenant, scopes=["join"]))
    assert_error(no_scope.get("/api/v1/rooms/algebra/count/"), 403)
    assert_error(session_client(outsider).get("/api/v1/rooms/algebra/count/"), 404)


def test_invite_only_room_count_is_for_the_invited(member, live_room):
    live_room.access = Room.Access.INVITE
    live_room.save(update_fields=["access"])
    assert_error(session_client(member).get("/api/v1/rooms/algebra/count/"), 404)


def test_admin_reads_usage_statistics(tenant, admin_user, live_room):
    today = timezone.localtime(timezone.now(), ZURICH).date()
    response = bearer_client(token_for(admin_user, tenant)).get(
        "/api/v1/statistics/", {"first": (today - timedelta(days=1)).isoformat(), "last": today.isoformat()}
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["meetings"] == 1 and body["peak_concurrent"] == 3
    assert [d["day"] for d in body["days"]] == [(today - timedelta(days=1)).isoformat(), today.isoformat()]
    assert body["busiest"][0]["room"] == live_room.title
    assert body["participant_minutes"] == pytest.approx(20 + 19 + 18, abs=0.5)


def test_usage_is_for_administrators_only(tenant, host, member, outsider, live_room):
    assert_error(APIClient().get("/api/v1/statistics/"), 401)
    assert_error(session_client(host).get("/api/v1/statistics/"), 403)
    assert_error(bearer_client(token_for(member, tenant)).get("/api/v1/statistics/"), 403)
    # An admin of another institution sees their own institution's (empty) figures, never ours.
    theirs = session_client(outsider).get("/api/v1/statistics/")
    assert theirs.status_code == 200 and theirs.json()["meetings"] == 0


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        ({"first": "2026-10-26", "last": "2026-10-24"}, None, "ends before it starts"),
        ({"first": "2020-01-01", "last": "2026-01-01"}, None, "at most a year"),
        ({"first": "soon"}, "first", "valid date"),
    ],
)
def test_bad_periods_name_the_problem(tenant, admin_user, query, field, message):
    error = assert_error(session_client(admin_user).get("/api/v1/statistics/", query), 400)
    # A problem of the period as a whole is the message; a problem of one field is listed under it.
    said = error["message"] if field is None else " ".join(error["fields"][field])
    assert message in said


def test_statistics_query_count_does_not_grow_with_history(
    tenant, admin_user, live_room, django_assert_max_num_queries
):
    client = bearer_client(token_for(admin_user, tenant))
    client.get("/api/v1/statistics/")  # warm per-process caches
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/statistics/").status_code == 200
    for n in range(5):
        MeetingSession.objects.create(
            tenant=tenant,
            deployment=tenant.deployment,
            room=live_room,
            room_name=f"r{n}",
            created_at=datetime.now(ZURICH) - timedelta(days=2, minutes=n),
            destroyed_at=timezone.now(),
        )
    with django_assert_max_num_queries(8):
        assert client.get("/api/v1/statistics/").status_code == 200
