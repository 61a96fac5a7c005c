"""A personal API token acts in its own tenant only, even when its person is a member of another tenant too
(issue 11: a token made in A joined B's members-only room)."""

from __future__ import annotations

import pytest

from tenants.models import Membership
from tests.api_support import bearer_client, token_for
from tests.factories import MembershipFactory, RoomFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def person_of_two(tenant, other_tenant, member):
    """`member` of tenant A is also a member of tenant B."""
    MembershipFactory(tenant=other_tenant, user=member, role=Membership.Role.MEMBER)
    return member


def join(token: str, room: str, **extra):
    return bearer_client(token).post(f"/api/v1/rooms/{room}/join/", {}, format="json", **extra)


def test_a_token_of_one_tenant_does_not_join_the_other_tenants_rooms(tenant, other_tenant, person_of_two):
    theirs = RoomFactory(tenant=other_tenant, name="office-hours", access="tenant")
    token_a = token_for(person_of_two, tenant)
    response = join(token_a, theirs.name)
    assert response.status_code == 404, response.content
    assert response.json()["error"]["code"] == "not_found"
    # The same person with a token of B joins it, and the token of A still joins A's rooms.
    assert join(token_for(person_of_two, other_tenant), theirs.name).status_code == 200
    ours = RoomFactory(tenant=tenant, name="seminar", access="tenant")
    assert join(token_a, ours.name).status_code == 200


def test_a_token_of_one_tenant_finds_nothing_on_the_other_tenants_host(
    tenant, other_tenant, person_of_two, settings
):
    from tenants.models import TenantHost

    TenantHost.objects.create(tenant=other_tenant, host="meet.eth.example")
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "meet.eth.example"]
    theirs = RoomFactory(tenant=other_tenant, name="office-hours", access="link")
    response = join(token_for(person_of_two, tenant), theirs.name, HTTP_HOST="meet.eth.example")
    assert response.status_code == 404, response.content


def test_a_tokens_own_tenant_wins_when_both_have_the_name(tenant, other_tenant, person_of_two):
    RoomFactory(tenant=tenant, name="office-hours", access="tenant")
    RoomFactory(tenant=other_tenant, name="office-hours", access="tenant")
    response = join(token_for(person_of_two, tenant), "office-hours")
    assert response.status_code == 200, response.content  # not 409 "ambiguous": the token names its tenant
