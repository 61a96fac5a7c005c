"""The join access matrix, through the domain function join_room (the pages and API are tested apart).

Actors: owner, co-host, member, invitee, another tenant's member, guest with the link (anonymous, with a
display name). Policies: tenant, link, invite. With and without an access code; inside and before the join
window (meetings.schedule.join_window is replaced through its module attribute, the seam join_room calls).
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth.models import AnonymousUser
from django.utils import timezone

from meetings import schedule
from meetings.access import check_access_code, set_access_code
from meetings.joining import JoinTicket, Reason, Refusal, join_room
from meetings.models import Room
from tenants import services as tenant_services
from tests.factories import MembershipFactory, RoomFactory, UserFactory
from tests.meetings.join_helpers import verify_for_room, with_code

ACTORS = ["owner", "co_host", "member", "invitee", "outsider", "guest"]
ALLOW, HOST = "allow", "host"
EXPECTED = {
    # actor: {policy: outcome}
    "owner": {"tenant": HOST, "link": HOST, "invite": HOST},
    "co_host": {"tenant": HOST, "link": HOST, "invite": HOST},
    "member": {"tenant": ALLOW, "link": ALLOW, "invite": Reason.NOT_INVITED},
    "invitee": {"tenant": ALLOW, "link": ALLOW, "invite": ALLOW},
    "outsider": {"tenant": Reason.NOT_FOUND, "link": ALLOW, "invite": Reason.NOT_FOUND},
    "guest": {"tenant": Reason.SIGN_IN, "link": ALLOW, "invite": Reason.SIGN_IN},
}
STATUS = {
    Reason.NOT_FOUND: 404,
    Reason.SIGN_IN: 403,
    Reason.NOT_INVITED: 403,
    Reason.NOT_OPEN: 409,
    Reason.NEEDS_CODE: 403,
    Reason.WRONG_CODE: 403,
    Reason.NEEDS_NAME: 400,
}


@pytest.fixture(autouse=True)
def _fast_hashers(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def people(tenant, host, member, outsider):
    co_host = MembershipFactory(tenant=tenant, user=UserFactory(username="cohost")).user
    invitee = MembershipFactory(tenant=tenant, user=UserFactory(username="invitee")).user
    return {
        "owner": host,
        "co_host": co_host,
        "member": member,
        "invitee": invitee,
        "outsider": outsider,
        "guest": AnonymousUser(),
    }


def make_room(tenant, people, policy: str) -> Room:
    room = RoomFactory(tenant=tenant, owner=people["owner"], access=policy, name=f"{policy}-room")
    room.co_hosts.add(people["co_host"])
    room.invitees.add(people["invitee"])
    return room


def attempt(room: Room, user, **kw) -> JoinTicket | Refusal:
    return join_room(room=room, user=user, now=timezone.now(), display_name="Gast Gustav", **kw)


@pytest.mark.parametrize("policy", ["tenant", "link", "invite"])
@pytest.mark.parametrize("actor", ACTORS)
def test_matrix_without_code(tenant, people, actor: str, policy: str) -> None:
    room = make_room(tenant, people, policy)
    result = attempt(room, people[actor])
    expected = EXPECTED[actor][policy]
    if expected in (ALLOW, HOST):
        assert isinstance(result, JoinTicket), result
        claims = verify_for_room(result.jwt, room)
        user = claims["context"]["user"]
        assert user["moderator"] is (expected == HOST)
        assert user["affiliation"] == ("owner" if expected == HOST else "member")
        if actor == "guest":
            assert user["name"] == "Gast Gustav"
            assert user["id"] not in {str(p.public_id) for p in people.values() if p.is_authenticated}
        else:
            assert user["id"] == str(people[actor].public_id)
            assert user["name"] == people[actor].get_display_name()
        assert "email" not in user  # nobody opted in
    else:
        assert isinstance(result, Refusal)
        assert result.reason == expected
        assert result.status == STATUS[expected]
        assert result.message


@pytest.mark.parametrize("policy", ["tenant", "link", "invite"])
@pytest.mark.parametrize("actor", ACTORS)
def test_matrix_with_access_code(tenant, people, actor: str, policy: str) -> None:
    room = with_code(make_room(tenant, people, policy), "sesame 42")
    expected = EXPECTED[actor][policy]
    no_code = attempt(room, people[actor])
    wrong = attempt(room, people[actor], access_code="open sesame")
    right = attempt(room, people[actor], access_code="sesame 42")
    if expected == HOST:  # hosts never need the code
        assert all(isinstance(r, JoinTicket) for r in (no_code, wrong, right))
    elif expected == ALLOW:
        assert isinstance(no_code, Refusal) and no_code.reason == Reason.NEEDS_CODE
        assert isinstance(wrong, Refusal) and wrong.reason == Reason.WRONG_CODE and wrong.status == 403
        assert isinstance(right, JoinTicket)
        remembered = attempt(room, people[actor], code_verified=True)
        assert isinstance(remembered, JoinTicket)
    else:  # the code never opens what the matrix keeps shut
        for result in (no_code, wrong, right):
            assert isinstance(result, Refusal) and result.reason == expected


@pytest.mark.parametrize("policy", ["tenant", "link", "invite"])
@pytest.mark.parametrize("actor", ACTORS)
def test_matrix_before_the_window(tenant, people, actor: str, policy: str, monkeypatch) -> None:
    opens_at = timezone.now() + timedelta(minutes=20)
    monkeypatch.setattr(
        schedule, "join_window", lambda room, now: schedule.JoinWindow(is_open=False, opens_at=opens_at)
    )
    room = make_room(tenant, people, policy)
    result = attempt(room, people[actor])
    expected = EXPECTED[actor][policy]
    if expected == HOST:  # hosts may open the room early
        assert isinstance(result, JoinTicket)
    elif expected == ALLOW:
        assert isinstance(result, Refusal) and result.reason == Reason.NOT_OPEN
        assert result.opens_at == opens_at and result.status == 409
    else:
        assert isinstance(result, Refusal) and result.reason == expected


def test_token_lasts_until_window_closes_plus_grace(tenant, people, monkeypatch, settings) -> None:
    closes_at = timezone.now() + timedelta(minutes=50)
    monkeypatch.setattr(
        schedule, "join_window", lambda room, now: schedule.JoinWindow(is_open=True, closes_at=closes_at)
    )
    room = make_room(tenant, people, "tenant")
    ticket = attempt(room, people["member"])
    assert isinstance(ticket, JoinTicket)
    grace = timedelta(seconds=settings.JOIN_TOKEN_GRACE_SECONDS)
    assert verify_for_room(ticket.jwt, room)["exp"] == int((closes_at + grace).timestamp())


def test_guest_needs_a_usable_name(tenant, people) -> None:
    room = make_room(tenant, people, "link")
    for name in [None, "", "   ", "x" * 81, "bad\x00name", "evil\u202eeman"]:
        result = join_room(room=room, user=AnonymousUser(), now=timezone.now(), display_name=name)
        assert isinstance(result, Refusal) and result.reason == Reason.NEEDS_NAME, name
    ok = join_room(room=room, user=AnonymousUser(), now=timezone.now(), display_name="  Zoë   Ng ")
    assert isinstance(ok, JoinTicket) and ok.participant.name == "Zoë Ng"


def test_email_only_when_shared_and_features_by_role(tenant, people) -> None:
    tenant_services.change_tenant(actor=None, tenant=tenant, recordings_enabled=True)
    room = make_room(tenant, people, "tenant")
    Room.objects.filter(pk=room.pk).update(
        allow_recording=True, allow_livestreaming=True, lobby=True, allow_participant_screen_sharing=False
    )
    room.refresh_from_db()
    member = people["member"]
    member.share_email_in_meetings = True
    member.save(update_fields=["share_email_in_meetings"])
    as_member = attempt(room, member)
    as_host = attempt(room, people["owner"])
    assert isinstance(as_member, JoinTicket) and isinstance(as_host, JoinTicket)
    member_claims = verify_for_room(as_member.jwt, room)["context"]
    host_claims = verify_for_room(as_host.jwt, room)["context"]
    assert member_claims["user"]["email"] == member.email
    assert "email" not in host_claims["user"]
    assert member_claims["features"]["recording"] is False
    assert member_claims["features"]["screen-sharing"] is False
    assert host_claims["features"]["recording"] is True
    assert host_claims["features"]["livestreaming"] is True
    assert host_claims["features"]["lobby"] is True
    assert host_claims["features"]["screen-sharing"] is True
    assert set(host_claims["features"].values()) <= {True, False}
    assert host_claims["room"] == {"lobby": True}


def test_blocked_member_and_archived_room(tenant, people) -> None:
    room = make_room(tenant, people, "tenant")
    people["member"].memberships.update(is_blocked=True)
    result = attempt(room, people["member"])
    assert isinstance(result, Refusal) and result.reason == Reason.NOT_FOUND
    Room.objects.filter(pk=room.pk).update(archived=True)
    room.refresh_from_db()
    assert isinstance(attempt(room, people["invitee"]), Refusal)
    assert isinstance(attempt(room, people["owner"]), JoinTicket)


def test_access_code_is_stored_as_a_keyed_hash(tenant) -> None:
    room = RoomFactory(tenant=tenant)
    set_access_code(room, " 123456 ")
    assert room.access_code_hash.startswith("hmac_sha256$")
    assert "123456" not in room.access_code_hash
    assert check_access_code(room, "123456") and check_access_code(room, " 123456")
    assert not check_access_code(room, "654321")
    assert not check_access_code(room, "")
    again = RoomFactory(tenant=tenant)
    set_access_code(again, "123456")
    assert again.access_code_hash != room.access_code_hash  # a salt of its own
    set_access_code(room, "")
    assert room.access_code_hash == "" and check_access_code(room, None)


def test_last_used_is_recorded_without_writing_every_join(tenant, people, django_assert_num_queries) -> None:
    room = make_room(tenant, people, "link")
    assert room.last_used_at is None
    assert isinstance(attempt(room, people["member"]), JoinTicket)
    room.refresh_from_db()
    first = room.last_used_at
    assert first is not None
    fresh = Room.objects.get(pk=room.pk)
    fresh.tenant = room.tenant
    # Unannotated room: co-host, membership, invitee checks, the deployment, its series; and no UPDATE.
    with django_assert_num_queries(5):
        assert isinstance(attempt(fresh, people["member"]), JoinTicket)
