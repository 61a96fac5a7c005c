"""Anonymous meetings at /new/: creation, moderator by session, guests, rate limits, expiry."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from meetings import ratelimit
from meetings.models import Room
from tests.factories import RoomFactory, TenantFactory
from tests.meetings.join_helpers import meeting_options, verify_for_room


@pytest.fixture(autouse=True)
def _clean_counters():
    cache.clear()  # this run's own Redis database: rate-limit windows must not leak between tests
    yield
    cache.clear()


@pytest.fixture
def demo(db, settings):
    settings.ANONYMOUS_TENANT = "demo"
    return TenantFactory(slug="demo", name="Demo")


def start(client: Client, name: str = "Alice") -> Room:
    response = client.post("/new/", {"display_name": name})
    assert response.status_code == 302, response.content
    room_name = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    return Room.objects.get(name=room_name)


def test_creator_moderates_and_guests_join_as_members(demo):
    creator = Client()
    assert creator.get("/new/").status_code == 200
    room = start(creator)
    assert room.is_anonymous and room.owner is None and room.access == Room.Access.LINK
    assert room.tenant == demo and len(room.name) >= 26
    page = creator.get(f"/new/{room.name}/")
    assert page.status_code == 200
    host_claims = verify_for_room(meeting_options(page)["jwt"], room)
    assert host_claims["context"]["user"]["moderator"] is True
    assert host_claims["context"]["user"]["affiliation"] == "owner"
    assert host_claims["context"]["user"]["name"] == "Alice"
    assert f"/new/{room.name}/".encode() in page.content  # the link to share

    guest = Client()
    form = guest.get(f"/new/{room.name}/")
    assert form.status_code == 200 and b'name="display_name"' in form.content
    assert guest.post(f"/new/{room.name}/", {"display_name": "Bob"}).status_code == 302
    guest_claims = verify_for_room(meeting_options(guest.get(f"/new/{room.name}/"))["jwt"], room)
    assert guest_claims["context"]["user"]["moderator"] is False
    assert guest_claims["context"]["user"]["affiliation"] == "member"
    assert guest_claims["context"]["user"]["name"] == "Bob"
    assert guest_claims["context"]["user"]["id"] != host_claims["context"]["user"]["id"]


def test_room_names_are_unguessable_and_distinct(demo):
    client = Client()
    names = {start(client).name for _ in range(5)}
    assert len(names) == 5
    assert all(len(n) >= 26 and n.isalnum() and n == n.lower() for n in names)


def test_bad_name_is_400(demo):
    response = Client().post("/new/", {"display_name": "x" * 200})
    assert response.status_code == 400
    assert b"Enter the name" in response.content
    assert not Room.objects.filter(is_anonymous=True).exists()


def test_unknown_or_regular_room_is_404(demo):
    client = Client()
    assert client.get("/new/doesnotexist/").status_code == 404
    regular = RoomFactory(tenant=demo, name="regular-room", access=Room.Access.LINK)
    assert client.get(f"/new/{regular.name}/").status_code == 404


def test_not_configured(db, settings):
    settings.ANONYMOUS_TENANT = "nowhere"
    response = Client().get("/new/")
    assert response.status_code == 404
    assert b"not offered here" in response.content


def test_creation_is_rate_limited_per_address(demo, settings):
    settings.RATE_LIMIT_ANONYMOUS_CREATE = "2/3600"
    client = Client(REMOTE_ADDR="203.0.113.7")
    start(client)
    start(client)
    refused = client.post("/new/", {"display_name": "Alice"})
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 3600
    assert b"Too many" in refused.content and b"try again" in refused.content
    assert Room.objects.filter(is_anonymous=True).count() == 2
    # Another address has its own budget.
    start(Client(REMOTE_ADDR="203.0.113.8"))


def test_joining_is_rate_limited(demo, settings):
    settings.RATE_LIMIT_ANONYMOUS_JOIN = "3/60"
    room = start(Client())
    client = Client(REMOTE_ADDR="198.51.100.1")
    for _ in range(3):
        assert client.get(f"/new/{room.name}/").status_code == 200
    refused = client.get(f"/new/{room.name}/")
    assert refused.status_code == 429
    assert refused["Retry-After"].isdigit()


def test_client_ip_header_behind_proxy(demo, settings):
    settings.RATE_LIMIT_ANONYMOUS_JOIN = "1/60"
    settings.CLIENT_IP_HEADER = "HTTP_X_FORWARDED_FOR"
    room = start(Client())
    a = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="spoofed, 192.0.2.10")
    b = Client(REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="192.0.2.11")
    assert a.get(f"/new/{room.name}/").status_code == 200
    assert b.get(f"/new/{room.name}/").status_code == 200  # same proxy, different clients
    assert a.get(f"/new/{room.name}/").status_code == 429


def test_fixed_window_counter():
    limit = ratelimit.Limit.parse("2/10")
    assert ratelimit.hit("t", "c", limit, now=100.0) is None
    assert ratelimit.hit("t", "c", limit, now=101.0) is None
    assert ratelimit.hit("t", "c", limit, now=105.0) == 5
    assert ratelimit.hit("t", "c", limit, now=110.0) is None  # next window
    assert ratelimit.hit("t", "c", ratelimit.Limit.parse("0/10"), now=1.0) is None  # off
    with pytest.raises(ValueError):
        ratelimit.Limit.parse("x/10")


def test_idle_rooms_expire(demo, settings):
    settings.ANONYMOUS_ROOM_IDLE_HOURS = 24
    client = Client()
    stale, fresh = start(client), start(client)
    Room.objects.filter(pk=stale.pk).update(last_used_at=timezone.now() - timedelta(hours=25))
    refused = client.get(f"/new/{stale.name}/")
    assert refused.status_code == 410
    assert b"Start a new one" in refused.content
    out = StringIO()
    call_command("expire_anonymous_rooms", stdout=out)
    assert "expired 1" in out.getvalue()
    assert not Room.objects.filter(pk=stale.pk).exists()
    assert Room.objects.filter(pk=fresh.pk).exists()
    # Regular rooms are never expired, however idle.
    regular = RoomFactory(tenant=demo)
    Room.objects.filter(pk=regular.pk).update(last_used_at=timezone.now() - timedelta(days=400))
    call_command("expire_anonymous_rooms", stdout=StringIO())
    assert Room.objects.filter(pk=regular.pk).exists()


def test_expired_room_is_refused_on_every_path(demo, settings, member):
    from django.contrib.auth.models import AnonymousUser

    from meetings.joining import Reason, Refusal, join_room

    room = start(Client())
    Room.objects.filter(pk=room.pk).update(last_used_at=timezone.now() - timedelta(hours=25))
    room.refresh_from_db()
    result = join_room(room=room, user=AnonymousUser(), now=timezone.now(), display_name="Eve")
    assert isinstance(result, Refusal) and result.reason == Reason.NOT_FOUND
    assert Client().get(f"/demo/r/{room.name}/").status_code == 404
    api = Client()
    api.force_login(member)
    response = api.post(f"/api/v1/rooms/{room.name}/join/", {}, content_type="application/json")
    assert response.status_code == 404
