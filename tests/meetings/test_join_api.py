"""POST /api/v1/rooms/<room>/join/ answers {"jwt", "jitsi_url", "room", "expires_at"}."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from meetings import schedule
from meetings.models import Room
from tests.factories import MembershipFactory, RoomFactory, TenantFactory
from tests.meetings.join_helpers import verify_for_room, with_code


@pytest.fixture(autouse=True, params=[True, False], ids=["quick", "drf"])
def _both_paths(request, settings):
    """Every case through the one-round-trip path (meetings/api/quick_join.py) and through DRF alone: the
    answers must not differ."""
    settings.JOIN_QUICK_PATH = request.param


@pytest.fixture(autouse=True)
def _fast_hashers(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def room(tenant, host):
    return RoomFactory(tenant=tenant, owner=host, name="algebra-7q3")


def join(client: Client, name: str, body: object | None = None, **kw):
    return client.post(f"/api/v1/rooms/{name}/join/", body or {}, content_type="application/json", **kw)


def test_member_joins(client, room, member, django_assert_max_num_queries):
    client.force_login(member)
    assert join(client, room.name).status_code == 200  # warms the host map, records last_used_at
    assert join(client, room.name).status_code == 200  # reloads the room that recording changed
    # Session, user, room, co-hosts, invitees, membership and series all come from the caches (Redis and
    # per-process copies checked against Redis, tenants/hotcache.py): a join asks PostgreSQL nothing.
    with django_assert_max_num_queries(0):
        response = join(client, room.name)
    assert response.status_code == 200
    data = response.json()
    assert set(data) == {"jwt", "jitsi_url", "room", "expires_at"}
    assert data["room"] == "algebra-7q3"
    assert data["jitsi_url"] == "https://meet.uzh.example.org/algebra-7q3"
    claims = verify_for_room(data["jwt"], room)
    assert datetime.fromisoformat(data["expires_at"]).timestamp() == claims["exp"]
    assert claims["context"]["user"]["id"] == str(member.public_id)


def test_csrf_is_enforced_for_session_auth(room, member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    assert join(client, room.name).status_code == 403
    client.get(f"/{room.tenant.slug}/r/{room.name}/")  # any page sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert join(client, room.name, HTTP_X_CSRFTOKEN=token).status_code == 200


def test_anonymous_is_refused(client, room):
    response = join(client, room.name)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_outsider_gets_404_for_tenant_room_but_may_join_link_room(client, room, outsider):
    client.force_login(outsider)
    assert join(client, room.name, HTTP_X_TENANT=room.tenant.slug).status_code == 404
    Room.objects.filter(pk=room.pk).update(access=Room.Access.LINK)
    # Without a hint the outsider's only institution is the tenant: the room is looked up there.
    assert join(client, room.name).status_code == 404
    assert join(client, room.name, HTTP_X_TENANT=room.tenant.slug).status_code == 200


def test_unknown_room(client, member):
    client.force_login(member)
    response = join(client, "does-not-exist")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_not_invited(client, room, member):
    Room.objects.filter(pk=room.pk).update(access=Room.Access.INVITE)
    client.force_login(member)
    response = join(client, room.name)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "not_invited"


def test_access_code(client, room, member):
    with_code(room, "tulip")
    client.force_login(member)
    assert join(client, room.name).json()["error"]["code"] == "needs_code"
    wrong = join(client, room.name, {"access_code": "rose"})
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_code"
    assert join(client, room.name, {"access_code": "tulip"}).status_code == 200


BAD_BODIES = [
    '{"access_code": 5}',
    '{"access_code": "' + "x" * 200 + '"}',
    '{"access_code": ["x"]}',
    '{"access_code": {"a": 1}}',
    "not json",
    "[1, 2]",
    '{"access_code": NaN}',
    '{"other": Infinity}',
    b'{"access_code": "\xff"}',
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_bad_bodies_are_400(client, room, member, body):
    client.force_login(member)
    response = client.post(f"/api/v1/rooms/{room.name}/join/", body, content_type="application/json")
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["message"] and error["code"] in {"invalid", "parse_error"}  # says what is wrong


def test_not_open_yet(client, room, member, monkeypatch):
    opens_at = timezone.now() + timedelta(minutes=5)
    monkeypatch.setattr(
        schedule, "join_window", lambda room, now: schedule.JoinWindow(is_open=False, opens_at=opens_at)
    )
    client.force_login(member)
    response = join(client, room.name)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_open"
    assert datetime.fromisoformat(response.json()["error"]["opens_at"]) == opens_at


def test_same_name_in_two_tenants(client, room, member, other_tenant):
    RoomFactory(tenant=other_tenant, name=room.name, access=Room.Access.LINK)
    client.force_login(member)
    # The member's own tenant wins over another tenant's link room.
    data = join(client, room.name).json()
    assert data["jitsi_url"].startswith("https://meet.uzh.example.org/")
    # Someone in neither tenant names the tenant of the link room they were given.
    third = MembershipFactory(tenant=TenantFactory(slug="unibe")).user
    client.force_login(third)
    assert join(client, room.name).status_code == 404  # looked up in their own institution
    named = join(client, room.name, HTTP_X_TENANT="eth").json()
    assert named["jitsi_url"].startswith("https://meet.eth.example.org/")
    assert join(client, room.name, HTTP_X_TENANT="uzh").status_code == 404  # a tenant room of uzh


def test_get_is_not_allowed(client, room, member):
    client.force_login(member)
    assert client.get(f"/api/v1/rooms/{room.name}/join/").status_code == 405
