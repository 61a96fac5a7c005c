"""The per-process copies a join reads (tenants/hotcache.py, meetings/joincache.py) never outlive a change.

Each case warms the caches with a join, changes something the way the portal does (services, bulk updates,
or another process replacing the shared token in Redis), and joins again: the second join must see the
change at once. Real PostgreSQL and Redis."""

from __future__ import annotations

from datetime import timedelta

import jwt
import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from meetings import joincache, services
from meetings.models import OccurrenceChange, Room
from portal import process_cache
from tenants import hotcache
from tenants.models import Membership
from tenants.services import set_member_blocked
from tests.factories import MembershipFactory, RoomFactory, TenantFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_local_copies():
    hotcache.clear_local()
    joincache.clear_local()
    yield


@pytest.fixture
def room(tenant, host):
    return RoomFactory(tenant=tenant, owner=host, name="cache-room")


def join(client: Client, name: str = "cache-room", tenant: str | None = None):
    """`tenant`: named in X-Tenant (people who are not members of the room's tenant name it)."""
    extra = {"HTTP_X_TENANT": tenant} if tenant else {}
    return client.post(f"/api/v1/rooms/{name}/join/", {}, content_type="application/json", **extra)


def claims(response) -> dict:
    assert response.status_code == 200, response.content
    return jwt.decode(response.json()["jwt"], options={"verify_signature": False})


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def warm(client: Client, name: str = "cache-room", tenant: str | None = None):
    """Two joins: the first records last_used_at (which reloads the room once), the second is cached."""
    join(client, name, tenant)
    return join(client, name, tenant)


def test_a_warm_join_reads_nothing_from_postgresql(room, member, django_assert_num_queries):
    client = signed_in(member)
    warm(client)
    with django_assert_num_queries(0):
        assert join(client).status_code == 200


def test_removed_co_host_joins_as_member_next_time(room, host, member):
    services.add_co_host(actor=host, room=room, user=member)
    client = signed_in(member)
    assert claims(warm(client))["context"]["user"]["moderator"] is True
    services.remove_co_host(actor=host, room=room, user=member)
    assert claims(join(client))["context"]["user"]["moderator"] is False


def test_blocked_member_is_refused_at_once(room, host, admin_user, member, tenant):
    client = signed_in(member)
    assert warm(client).status_code == 200
    set_member_blocked(
        actor=admin_user, membership=Membership.objects.get(user=member, tenant=tenant), blocked=True
    )
    assert (
        join(client).status_code == 400
    )  # no longer a member anywhere: which institution? (tenant_required)
    assert (
        join(client, tenant="uzh").status_code == 404
    )  # a tenant room, not a member: as if it did not exist
    set_member_blocked(
        actor=admin_user, membership=Membership.objects.get(user=member, tenant=tenant), blocked=False
    )
    assert join(client).status_code == 200


def test_blocked_by_bulk_update_is_refused_at_once(room, member, tenant):
    client = signed_in(member)
    assert warm(client).status_code == 200
    Membership.objects.filter(user=member, tenant=tenant).update(is_blocked=True)
    assert join(client, tenant="uzh").status_code == 404


def test_deactivated_user_is_signed_out_at_once(room, member):
    client = signed_in(member)
    assert warm(client).status_code == 200
    member.is_active = False
    member.save(update_fields=["is_active"])
    assert join(client).status_code in (401, 403)


def test_archived_room_is_refused_at_once(room, host, member):
    client = signed_in(member)
    assert warm(client).status_code == 200
    services.archive_room(actor=host, room=room)
    assert join(client).status_code == 404
    assert join(signed_in(host)).status_code == 200  # hosts still may


def test_room_changed_by_bulk_update_is_seen_at_once(room, outsider):
    client = signed_in(outsider)
    assert (
        warm(client, tenant="uzh").status_code == 404
    )  # a tenant room: invisible to another tenant's people
    Room.objects.filter(pk=room.pk).update(access=Room.Access.LINK)
    assert join(client, tenant="uzh").status_code == 200


def test_invitee_added_may_enter_an_invite_room_at_once(room, host, member):
    services.update_room(actor=host, room=room, access=Room.Access.INVITE)
    client = signed_in(member)
    assert warm(client).json()["error"]["code"] == "not_invited"
    services.add_invitee(actor=host, room=room, user=member)
    assert join(client).status_code == 200
    services.remove_invitee(actor=host, room=room, user=member)
    assert join(client).status_code == 403


def test_a_room_created_under_a_name_that_answered_404_is_found(tenant, host, member):
    client = signed_in(member)
    assert warm(client, "brand-new").status_code == 404
    RoomFactory(tenant=tenant, owner=host, name="brand-new")
    assert join(client, "brand-new").status_code == 200


def test_cancelled_lecture_closes_the_room_at_once(room, host, member):
    now = timezone.localtime()
    start = (now - timedelta(minutes=30)).replace(second=0, microsecond=0)
    series = services.schedule_series(
        actor=host,
        room=room,
        first_date=start.date(),
        start_time=start.time(),
        duration_minutes=90,
        count=1,
    )
    client = signed_in(member)
    assert warm(client).status_code == 200  # the lecture is running
    services.cancel_occurrence(actor=host, series=series, original_start=start)
    assert OccurrenceChange.objects.filter(series=series).exists()
    assert join(client).status_code == 409  # not open: no lecture left
    services.delete_series(actor=host, series=series)
    assert join(client).status_code == 200  # no series: always open


def test_new_app_secret_signs_the_next_token(room, member, tenant):
    client = signed_in(member)
    warm(client)
    deployment = tenant.deployment
    deployment.app_secret = "a-brand-new-secret-that-is-long-enough-for-hs256"
    deployment.save(update_fields=["app_secret"])
    token = join(client).json()["jwt"]
    jwt.decode(token, deployment.app_secret, algorithms=["HS256"], audience=deployment.audience)


def test_a_change_made_by_another_process_is_seen_through_the_shared_token(room, outsider):
    """Another process changes the row and replaces the token in Redis; this process was told nothing."""
    client = signed_in(outsider)
    assert warm(client, tenant="uzh").status_code == 404
    with connection.cursor() as cursor:  # no signal reaches this process's copies
        cursor.execute("UPDATE meetings_room SET access = 'link' WHERE id = %s", [room.pk])
    assert join(client, tenant="uzh").status_code == 404  # the copy is in use...
    # ...until the other process's commit hook runs
    process_cache._replace([hotcache.room_key(room.tenant_id, room.name)])
    assert join(client, tenant="uzh").status_code == 200


def test_a_lost_token_cannot_match_an_old_copy(room, outsider):
    """Redis flushed (or the key evicted): the new token is random, so old copies are reloaded."""
    from django.core.cache import cache

    client = signed_in(outsider)
    assert warm(client, tenant="uzh").status_code == 404
    with connection.cursor() as cursor:
        cursor.execute("UPDATE meetings_room SET access = 'link' WHERE id = %s", [room.pk])
    cache.delete_many([hotcache.room_key(room.tenant_id, room.name)])
    assert join(client, tenant="uzh").status_code == 200


def test_copies_are_not_used_beyond_their_age_limit(room, outsider, settings):
    settings.HOT_CACHE_MAX_AGE = 0  # writes that bypass signals (raw SQL) are seen after this many seconds
    client = signed_in(outsider)
    assert warm(client, tenant="uzh").status_code == 404
    with connection.cursor() as cursor:
        cursor.execute("UPDATE meetings_room SET access = 'link' WHERE id = %s", [room.pk])
    assert join(client, tenant="uzh").status_code == 200


def test_outsider_never_sees_another_tenants_copy(room, outsider, member):
    """The copy is shared by everyone in the process; what a person is to the room is computed per request."""
    assert warm(signed_in(member)).status_code == 200
    assert join(signed_in(outsider)).status_code == 404
    guest = UserFactory(username="invitee-elsewhere")
    MembershipFactory(user=guest, tenant=outsider.memberships.first().tenant)
    assert join(signed_in(guest)).status_code == 404


def test_request_user_is_a_private_copy(room, member):
    client = signed_in(member)
    warm(client)
    first = hotcache.cached_user(member.pk)
    second = hotcache.cached_user(member.pk)
    assert first is not second and first.pk == second.pk == member.pk
    first.display_name = "changed by a view"
    assert hotcache.cached_user(member.pk).display_name != "changed by a view"


def test_the_window_memo_turns_at_the_lecture_boundaries(room, host, member):
    """The memo of schedule.join_window() holds only until the next opening or closing it saw."""
    from meetings.joincache import room_named
    from meetings.joining import JoinTicket, Refusal, join_room

    start = (timezone.localtime() + timedelta(days=1)).replace(hour=10, minute=15, second=0, microsecond=0)
    services.schedule_series(
        actor=host,
        room=room,
        first_date=start.date(),
        start_time=start.time(),
        duration_minutes=90,
        count=1,
        join_opens_minutes=15,
        grace_minutes=15,
    )
    opens, closes = start - timedelta(minutes=15), start + timedelta(minutes=90 + 15)

    def attempt(now):
        found = room_named(room.tenant_id, room.name, member)
        return join_room(room=found, user=member, now=now)

    for _ in range(2):  # the second round answers from the memo, at the same moments
        early = attempt(opens - timedelta(seconds=1))
        assert isinstance(early, Refusal) and early.opens_at == opens
        assert isinstance(attempt(opens), JoinTicket)
        assert isinstance(attempt(closes - timedelta(seconds=1)), JoinTicket)
        assert isinstance(attempt(closes), Refusal)
    assert isinstance(attempt(opens + timedelta(minutes=1)), JoinTicket)  # after a later moment: recomputed
    assert isinstance(attempt(opens - timedelta(minutes=1)), Refusal)


def test_a_warm_join_is_one_redis_round_trip(room, member, redis_round_trips):
    """The session, the user's token and the room's tokens come with the rate limit's pipeline
    (meetings/api/quick_join.py); a session new to this process costs one more, for the user's token."""
    client = signed_in(member)
    with redis_round_trips() as first:
        assert join(client).status_code == 200
    warm(client)
    with redis_round_trips() as trips:
        assert join(client).status_code == 200
    assert trips == [1] and first[0] >= 2


def test_through_drf_the_room_tokens_still_come_with_the_rate_limit(
    room, member, settings, monkeypatch, redis_round_trips
):
    """JOIN_QUICK_PATH=0: three round trips (session, user's token, rate limit with the room's tokens)."""
    settings.JOIN_QUICK_PATH = False
    client = signed_in(member)
    warm(client)
    calls: list[list[str]] = []
    original = hotcache.read_generations
    monkeypatch.setattr(hotcache, "read_generations", lambda keys: calls.append(keys) or original(keys))
    with redis_round_trips() as trips:
        assert join(client).status_code == 200
    assert calls == [[hotcache.user_key(member.pk)]] and trips == [3]


def test_a_persons_first_join_in_a_process_loads_them_in_one_query(
    member, tenant, other_tenant, django_assert_num_queries
):
    third = MembershipFactory(user=member, tenant=TenantFactory(slug="unil")).tenant
    MembershipFactory(user=member, tenant=other_tenant, is_blocked=True)
    third.is_active = False
    third.save(update_fields=["is_active"])
    with django_assert_num_queries(1):
        entry = hotcache.user_entry(member.pk)
    assert entry is not None and entry.member_of == {tenant.pk}  # not blocked, not switched off
    assert entry.user.username == member.username and not hasattr(entry.user, "hot_member_of")
    assert hotcache.user_entry(10**9) is None
