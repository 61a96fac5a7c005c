"""The join API's one-round-trip path (meetings/api/quick_join.py) answers exactly what DRF would, and hands
everything else to DRF without counting a request twice. Real PostgreSQL, Redis and sessions."""

from __future__ import annotations

import jwt
import pytest
from django.conf import settings as django_settings
from django.contrib.sessions.backends.cached_db import KEY_PREFIX
from django.core.cache import cache
from django.test import Client

from meetings import joincache
from meetings.models import Room
from tenants import hotcache
from tests.api_support import token_for
from tests.conftest import require
from tests.factories import RoomFactory
from tests.meetings.join_helpers import verify_for_room

VOLATILE = {"iat", "nbf", "exp"}


@pytest.fixture(autouse=True)
def _redis_and_fresh_copies(settings):
    require(hasattr(cache, "hit"), "REDIS_URL (make test sets it)")
    require(settings.SESSION_ENGINE.endswith("cached_db"), "sessions in Redis (the default with REDIS_URL)")
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    hotcache.clear_local()
    joincache.clear_local()


@pytest.fixture
def room(tenant, host):
    return RoomFactory(tenant=tenant, owner=host, name="quick-room")


def join(client: Client, body: str = "{}", name: str = "quick-room", **kw):
    return client.post(f"/api/v1/rooms/{name}/join/", body, content_type="application/json", **kw)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def rate_count(client: Client) -> int:
    """Requests counted so far in the current window for the test client's address."""
    return int(cache.get("rate_address_127.0.0.1") or 0)


def test_quick_answer_is_the_drf_answer(room, member, settings, redis_round_trips):
    client = signed_in(member)
    join(client)
    join(client)  # warm: the room reloaded once after last_used_at was recorded
    with redis_round_trips() as trips:
        quick = join(client)
    settings.JOIN_QUICK_PATH = False
    slow = join(client)
    assert trips == [1] and quick.status_code == slow.status_code == 200
    for header in ("Content-Type", "Vary", "Allow", "X-Frame-Options", "Cache-Control"):
        assert quick.get(header) == slow.get(header), header
    assert "Cookie" in quick["Vary"]  # the session was read
    a, b = quick.json(), slow.json()
    assert a.keys() == b.keys() == {"jwt", "jitsi_url", "room", "expires_at"}
    assert (a["jitsi_url"], a["room"]) == (b["jitsi_url"], b["room"])
    claims_a, claims_b = verify_for_room(a["jwt"], room), verify_for_room(b["jwt"], room)
    assert {k: v for k, v in claims_a.items() if k not in VOLATILE} == {
        k: v for k, v in claims_b.items() if k not in VOLATILE
    }


def test_every_request_is_counted_once_whichever_path_answers(room, member, tenant, settings):
    settings.REST_FRAMEWORK = {
        **django_settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **django_settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "address": "4/min",
        },
    }
    hidden = RoomFactory(tenant=tenant, name="quick-invite", access=Room.Access.INVITE)
    client = signed_in(member)
    assert join(client).status_code == 200  # quick (after one more round trip for the user's token)
    assert rate_count(client) == 1
    assert join(client, name=hidden.name).status_code == 403  # refused: DRF answers, the hit is not repeated
    assert rate_count(client) == 2
    assert join(client, "not json").status_code == 400  # DRF counts this one itself
    assert rate_count(client) == 3
    assert join(client).status_code == 200
    over = join(client)
    assert over.status_code == 429 and rate_count(client) == 5
    assert over.json()["error"]["code"] == "throttled" and int(over["Retry-After"]) > 0


def test_a_session_the_cache_lost_is_read_from_the_database(room, member):
    client = signed_in(member)
    assert join(client).status_code == 200
    cache.delete(KEY_PREFIX + client.cookies[django_settings.SESSION_COOKIE_NAME].value)
    assert join(client).status_code == 200  # DRF's path: cached_db reads the row and caches it again
    assert join(client).status_code == 200


def test_a_signed_out_session_is_refused(room, member):
    client = signed_in(member)
    assert join(client).status_code == 200
    stale = client.cookies[django_settings.SESSION_COOKIE_NAME].value
    client.logout()
    client.cookies[django_settings.SESSION_COOKIE_NAME] = stale  # replayed after sign-out
    assert join(client).status_code == 401


def test_a_changed_password_ends_the_session(room, member):
    client = signed_in(member)
    assert join(client).status_code == 200
    member.set_password("a new one, elsewhere")
    member.save()
    assert join(client).status_code == 401  # the session's hash no longer matches: signed out


def test_a_deactivated_account_is_refused_at_once(room, member):
    client = signed_in(member)
    assert join(client).status_code == 200
    member.is_active = False
    member.save(update_fields=["is_active"])
    assert join(client).status_code == 401


def test_a_session_of_someone_else_never_uses_the_remembered_user(room, member, host, redis_round_trips):
    """The per-process guess (session -> user) only picks which token to read ahead: the session's own data
    decides who joins."""
    first = signed_in(member)
    assert join(first).status_code == 200
    key = first.cookies[django_settings.SESSION_COOKIE_NAME].value
    second = signed_in(host)
    data = cache.get(KEY_PREFIX + second.cookies[django_settings.SESSION_COOKIE_NAME].value)
    cache.set(KEY_PREFIX + key, data)  # the member's session key now holds the host's session
    claims = jwt.decode(join(first).json()["jwt"], options={"verify_signature": False})
    assert claims["context"]["user"]["id"] == str(host.public_id) and claims["context"]["user"]["moderator"]


def test_token_clients_go_through_drf(room, member, tenant):
    token = token_for(member, tenant, scopes=["join"])
    client = Client()
    response = join(client, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert verify_for_room(response.json()["jwt"], room)["context"]["user"]["id"] == str(member.public_id)
    assert join(client, HTTP_AUTHORIZATION="Bearer aud_wrong").status_code == 401


def test_the_join_decided_while_redis_answers_is_kept_only_if_nothing_changed(room, member, monkeypatch):
    """quick_join decides the join from this process's copies while the round trip is under way, and keeps
    that decision only if the tokens read confirm those copies; otherwise it decides again."""
    from meetings.api import quick_join

    calls: list[str] = []
    original = quick_join.join_room
    monkeypatch.setattr(quick_join, "join_room", lambda **kw: calls.append("join") or original(**kw))
    client = signed_in(member)
    join(client)
    join(client)  # warm: the session's user remembered, the room loaded again after last_used_at
    calls.clear()
    assert join(client).status_code == 200
    assert calls == ["join"]  # decided once, ahead
    calls.clear()
    hotcache.changed(hotcache.user_key(member.pk))  # another process changed the member's rows
    assert join(client).status_code == 200
    assert calls == ["join", "join"]  # the early decision was thrown away
    calls.clear()
    joincache.room_changed(room)
    assert join(client).status_code == 200
    assert calls == ["join", "join"]


def test_a_member_blocked_meanwhile_is_refused_though_the_early_decision_admitted_them(
    room, member, tenant, admin_user
):
    from tenants.models import Membership
    from tenants.services import set_member_blocked

    client = signed_in(member)
    join(client)
    assert join(client).status_code == 200
    membership = Membership.objects.get(user=member, tenant=tenant)
    set_member_blocked(actor=admin_user, membership=membership, blocked=True)
    assert join(client).status_code == 400  # a member of no institution now: tenant_required
    assert join(client, HTTP_X_TENANT=tenant.slug).status_code == 404
