"""Limits on wrong access codes (meetings/ratelimit.py, meetings/joining.py): per room and client address and
per room, shared by the join page and the join API, checked before any code is hashed. And the stored form
of codes: a keyed hash, with codes stored by Django's password hashers still accepted and then stored anew.
Real PostgreSQL and Redis."""

from __future__ import annotations

import threading
import time

import pytest
from django.contrib.auth.hashers import MD5PasswordHasher, PBKDF2PasswordHasher
from django.core.cache import cache
from django.test import Client
from django.test.utils import override_settings
from django.utils import timezone

from meetings import access, joincache, joining, ratelimit, services
from meetings.joining import JoinTicket, Reason, Refusal, join_room
from meetings.models import Room
from tenants import hotcache
from tenants.models import AuditEntry
from tests.conftest import require
from tests.factories import RoomFactory
from tests.meetings.join_helpers import with_code

RIGHT, WRONG = "tulip", "rose"


@pytest.fixture(autouse=True)
def _redis(settings):
    require(hasattr(cache, "hit"), "REDIS_URL (make test sets it)")
    settings.RATE_LIMIT_ACCESS_CODE_ADDRESS = "5/60"
    settings.RATE_LIMIT_ACCESS_CODE_ROOM = "50/3600"
    hotcache.clear_local()
    joincache.clear_local()


@pytest.fixture(params=[True, False], ids=["quick", "drf"])
def api_path(request, settings):
    """The join API with its one-round-trip path for sessions (meetings/api/quick_join.py), and without."""
    settings.JOIN_QUICK_PATH = request.param
    return request.param


@pytest.fixture
def room(tenant, host):
    coded = RoomFactory(tenant=tenant, owner=host, name="coded-room", access=Room.Access.LINK)
    return with_code(coded, RIGHT)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def page(client: Client, room: Room, code: str, address: str = "10.0.0.1", **extra):
    data = {"access_code": code}
    if not client.session.get("_auth_user_id"):
        data["display_name"] = "Ada"
    return client.post(f"/{room.tenant.slug}/r/{room.name}/", data, REMOTE_ADDR=address, **extra)


def api(client: Client, room: Room, code: str, address: str = "10.0.0.1", **extra):
    return client.post(
        f"/api/v1/rooms/{room.name}/join/",
        {"access_code": code},
        content_type="application/json",
        REMOTE_ADDR=address,
        **extra,
    )


def assert_blocked_page(response, most: int) -> int:
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 1 <= wait <= most
    text = response.content.decode()
    assert "Too many wrong access codes. Try again in" in text
    assert 'name="access_code"' in text  # the form stays, for when the time has passed
    return wait


def assert_blocked_api(response, most: int) -> int:
    assert response.status_code == 429
    wait = int(response["Retry-After"])
    assert 1 <= wait <= most
    error = response.json()["error"]
    assert error["code"] == "access_code_attempts"
    assert error["retry_after"] == wait
    assert error["message"].startswith("Too many wrong access codes. Try again in")
    return wait


def test_page_sixth_wrong_code_answers_429_and_a_right_code_is_refused_too(room, member):
    client = signed_in(member)
    for _ in range(5):
        assert page(client, room, WRONG).status_code == 403
    assert_blocked_page(page(client, room, WRONG), 60)
    assert_blocked_page(page(client, room, RIGHT), 60)  # a guesser cannot confirm a hit during the block
    # Another address is not blocked (nor is the host, who never needs the code).
    assert page(client, room, RIGHT, address="10.0.0.2").status_code == 302
    assert signed_in(room.owner).get(f"/{room.tenant.slug}/r/{room.name}/").status_code == 200


def test_guest_on_the_page_is_limited_the_same(room):
    guest = Client()
    for _ in range(5):
        assert page(guest, room, WRONG).status_code == 403
    assert_blocked_page(page(guest, room, RIGHT), 60)


def test_api_sixth_wrong_code_answers_429(room, member, api_path):
    client = signed_in(member)
    for _ in range(5):
        wrong = api(client, room, WRONG)
        assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "wrong_code"
    assert_blocked_api(api(client, room, WRONG), 60)
    assert_blocked_api(api(client, room, RIGHT), 60)
    assert api(client, room, RIGHT, address="10.0.0.2").status_code == 200


def test_api_wrong_code_is_counted_exactly_once(room, member, api_path, settings):
    """The quick path hands joins with a code to the DRF view: one attempt each, not two."""
    settings.RATE_LIMIT_ACCESS_CODE_ADDRESS = "2/60"
    client = signed_in(member)
    assert api(client, room, WRONG).status_code == 403
    assert api(client, room, WRONG).status_code == 403
    assert_blocked_api(api(client, room, WRONG), 60)


def test_a_right_code_is_not_counted_as_a_failure(room, member, api_path, settings):
    settings.RATE_LIMIT_ACCESS_CODE_ADDRESS = "2/60"
    client = signed_in(member)
    for _ in range(4):  # an app that sends the code with every join
        assert api(client, room, RIGHT).status_code == 200
    assert api(client, room, WRONG).status_code == 403
    assert api(client, room, RIGHT).status_code == 200
    assert api(client, room, WRONG).status_code == 403
    assert_blocked_api(api(client, room, RIGHT), 60)


def test_page_and_api_share_the_counters(room, member, api_path):
    client = signed_in(member)
    for _ in range(3):
        assert page(client, room, WRONG).status_code == 403
    assert api(client, room, WRONG).status_code == 403
    assert api(client, room, WRONG).status_code == 403
    assert_blocked_api(api(client, room, WRONG), 60)  # 3 on the page + 3 through the API
    assert_blocked_page(page(client, room, RIGHT), 60)


def test_room_limit_across_many_addresses(room, member, settings):
    settings.RATE_LIMIT_ACCESS_CODE_ROOM = "8/3600"
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"  # as behind the reverse proxy
    client = signed_in(member)
    for n in range(4):
        assert page(client, room, WRONG, HTTP_X_REAL_IP=f"192.0.2.{n}").status_code == 403
        assert api(client, room, WRONG, HTTP_X_REAL_IP=f"2001:db8::{n}").status_code == 403
    wait = assert_blocked_api(api(client, room, RIGHT, HTTP_X_REAL_IP="198.51.100.7"), 3600)
    assert wait > 3000
    blocked = page(Client(), room, RIGHT, HTTP_X_REAL_IP="198.51.100.8")
    assert_blocked_page(blocked, 3600)
    assert "Try again in 60 minutes." in blocked.content.decode()
    # Other rooms are not affected.
    other = with_code(RoomFactory(tenant=room.tenant, name="other-room", access=Room.Access.LINK), RIGHT)
    assert api(client, other, RIGHT, HTTP_X_REAL_IP="198.51.100.7").status_code == 200


def test_no_code_is_hashed_while_blocked(room, member, monkeypatch, settings):
    settings.JOIN_QUICK_PATH = True
    checked: list[str] = []
    original = access.check_access_code

    def counting(room: Room, code: str | None) -> bool:
        checked.append(code or "")
        return original(room, code)

    monkeypatch.setattr(access, "check_access_code", counting)
    client = signed_in(member)
    for _ in range(3):
        page(client, room, WRONG)
    for _ in range(2):
        api(client, room, WRONG)
    assert checked == [WRONG] * 5  # once per attempt, the quick path's included
    assert page(client, room, RIGHT).status_code == 429
    assert api(client, room, RIGHT).status_code == 429
    assert api(client, room, WRONG).status_code == 429
    assert checked == [WRONG] * 5


class CountingHasher(MD5PasswordHasher):
    """A password hasher that counts its checks (listed in PASSWORD_HASHERS: no patching)."""

    algorithm = "counting_md5"
    checks = 0

    def verify(self, password: str, encoded: str) -> bool:
        CountingHasher.checks += 1
        return super().verify(password, encoded)


def test_old_hashes_are_not_checked_while_blocked(room, member, settings):
    settings.PASSWORD_HASHERS = [f"{__name__}.CountingHasher"]
    CountingHasher.checks = 0
    Room.objects.filter(pk=room.pk).update(access_code_hash=CountingHasher().encode(RIGHT, "saltsaltsalt"))
    client = signed_in(member)
    for _ in range(5):
        assert api(client, room, WRONG).status_code == 403
    assert CountingHasher.checks == 5
    assert page(client, room, RIGHT).status_code == 429
    assert api(client, room, RIGHT).status_code == 429
    assert CountingHasher.checks == 5


def test_the_address_window_frees_after_its_time(room, member, settings):
    settings.RATE_LIMIT_ACCESS_CODE_ADDRESS = "2/1"
    client = signed_in(member)
    assert page(client, room, WRONG).status_code == 403
    assert api(client, room, WRONG).status_code == 403
    assert int(page(client, room, RIGHT)["Retry-After"]) == 1
    time.sleep(1.1)
    assert api(client, room, WRONG).status_code == 403  # counted in a new window
    assert api(client, room, RIGHT).status_code == 200
    assert page(client, room, RIGHT).status_code == 302


def test_room_window_frees_after_its_time(room, member, settings):
    settings.RATE_LIMIT_ACCESS_CODE_ROOM = "1/1"
    client = signed_in(member)
    assert api(client, room, WRONG, address="10.0.0.1").status_code == 403
    assert api(client, room, RIGHT, address="10.0.0.2").status_code == 429
    time.sleep(1.1)
    assert api(client, room, RIGHT, address="10.0.0.2").status_code == 200


def test_old_pbkdf2_codes_still_open_the_room_and_are_stored_anew(room, member, settings):
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.PBKDF2PasswordHasher",
        "django.contrib.auth.hashers.MD5PasswordHasher",
    ]
    # A code stored by Django's default hasher before the keyed hash (fewer iterations: the test stays fast).
    legacy = PBKDF2PasswordHasher().encode(RIGHT, "legacysalt123456", iterations=1000)
    Room.objects.filter(pk=room.pk).update(access_code_hash=legacy)
    audited = AuditEntry.objects.count()
    client = signed_in(member)
    assert api(client, room, WRONG).status_code == 403
    assert Room.objects.get(pk=room.pk).access_code_hash == legacy
    assert page(client, room, RIGHT).status_code == 302
    stored = Room.objects.get(pk=room.pk).access_code_hash
    assert stored.startswith("hmac_sha256$") and RIGHT not in stored
    assert AuditEntry.objects.count() == audited  # nobody changed anything
    # Every process sees the new row (the room caches were told), and the code still opens the room.
    assert api(client, room, RIGHT).status_code == 200
    assert api(client, room, WRONG).status_code == 403


def test_upgrade_keeps_a_code_set_meanwhile(room):
    legacy = PBKDF2PasswordHasher().encode(RIGHT, "legacysalt123456", iterations=1000)
    Room.objects.filter(pk=room.pk).update(access_code_hash=legacy)
    seen = Room.objects.get(pk=room.pk)
    with_code(Room.objects.get(pk=room.pk), "lily")  # a host sets a new code
    assert not services.upgrade_access_code_hash(room=seen, code=RIGHT)
    fresh = Room.objects.get(pk=room.pk)
    assert access.check_access_code(fresh, "lily") and not access.check_access_code(fresh, RIGHT)


def test_update_room_stores_the_keyed_hash(room, host):
    services.update_room(actor=host, room=room, access_code=" 4711 ")
    room.refresh_from_db()
    assert room.access_code_hash.startswith("hmac_sha256$")
    assert access.check_access_code(room, "4711")


def test_a_changed_secret_key_does_not_open_the_room(room, settings):
    """The hash is keyed: the database alone is not enough to test guesses offline."""
    assert access.check_access_code(room, RIGHT)
    settings.SECRET_KEY = "another-secret-key"
    settings.FIELD_ENCRYPTION_KEY = ""
    assert not access.check_access_code(room, RIGHT)


def test_joins_without_a_code_cost_no_round_trip(tenant, room, member, redis_round_trips):
    plain = RoomFactory(tenant=tenant, name="plain-room")

    def join(room: Room, user, **kw):
        return join_room(room=room, user=user, now=timezone.now(), record=False, **kw)

    join(plain, member)  # warms what a join reads once
    with redis_round_trips() as trips:
        assert isinstance(join(plain, member, access_code="x"), JoinTicket)  # the room has no code
        assert isinstance(join(room, member, code_verified=True), JoinTicket)  # the session saw it
        assert isinstance(join(room, room.owner, access_code="x"), JoinTicket)  # hosts need none
    assert trips == [0]
    with redis_round_trips() as trips:  # a code: one to take an attempt, one to give it back when right
        assert isinstance(join(room, member, access_code=RIGHT), JoinTicket)
    assert trips == [2]
    with redis_round_trips() as trips:
        refused = join(room, member, access_code=WRONG)
    assert isinstance(refused, Refusal) and refused.reason == Reason.WRONG_CODE and trips == [1]


def test_parallel_attempts_cannot_pass_the_limit(room):
    """Taken atomically: 20 requests at once from one address get exactly 5 checks."""
    results: list[int | None] = []
    lock = threading.Lock()
    start = threading.Barrier(20)

    def attempt() -> None:
        start.wait()
        wait = ratelimit.take_code_attempt(room.pk, "10.9.9.9")
        with lock:
            results.append(wait)

    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count(None) == 5
    assert all(w is not None and 1 <= w <= 60 for w in results if w is not None)


@pytest.mark.parametrize("backend", ["redis", "locmem"])
def test_take_and_give_back(room, settings, backend):
    """The same counting on Redis (one script) and on the in-process cache of a development run."""
    settings.RATE_LIMIT_ACCESS_CODE_ADDRESS = "2/60"
    settings.RATE_LIMIT_ACCESS_CODE_ROOM = "3/3600"
    caches = settings.CACHES
    if backend == "locmem":
        caches = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    with override_settings(CACHES=caches):
        take = ratelimit.take_code_attempt
        assert take(room.pk, "a") is None and take(room.pk, "a") is None
        assert 55 <= (take(room.pk, "a") or 0) <= 60  # the address is full
        ratelimit.give_back_code_attempt(room.pk, "a")  # one of them was right
        assert take(room.pk, "a") is None
        assert take(room.pk, "b") is None  # the room's third
        assert 3500 <= (take(room.pk, "c") or 0) <= 3600  # the room is full: 4 taken, 1 given back
        settings.RATE_LIMIT_ACCESS_CODE_ROOM = "0/3600"  # off
        assert take(room.pk, "c") is None


def test_wait_in_words():
    wait_in_words = joining.wait_in_words
    assert wait_in_words(1) == "Too many wrong access codes. Try again in 1 second."
    assert wait_in_words(42) == "Too many wrong access codes. Try again in 42 seconds."
    assert wait_in_words(119) == "Too many wrong access codes. Try again in 119 seconds."
    assert wait_in_words(121) == "Too many wrong access codes. Try again in 3 minutes."
    assert wait_in_words(3600) == "Too many wrong access codes. Try again in 60 minutes."
