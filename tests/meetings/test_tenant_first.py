"""Every room lookup is by (tenant, name): twelve institutions with a room of the same name each reach their
own (issue 11: members of the 11th tenant onward got 404 for their own room)."""

from __future__ import annotations

import pytest
from django.test import Client

from meetings.models import Room
from tenants.models import Membership
from tests.factories import MembershipFactory, RoomFactory, TenantFactory, UserFactory

pytestmark = pytest.mark.django_db

TENANTS = 12


@pytest.fixture(autouse=True, params=[True, False], ids=["quick", "drf"])
def _both_paths(request, settings):
    settings.JOIN_QUICK_PATH = request.param


@pytest.fixture
def twelve():
    """(tenant, its members-only room `office-hours`, a member of it) for twelve tenants."""
    found = []
    for i in range(TENANTS):
        tenant = TenantFactory(slug=f"inst{i:02d}")
        room = RoomFactory(tenant=tenant, name="office-hours", access=Room.Access.TENANT)
        member = MembershipFactory(tenant=tenant, user=UserFactory(username=f"student{i:02d}")).user
        found.append((tenant, room, member))
    return found


def _api_join(client: Client, name: str, **extra):
    return client.post(f"/api/v1/rooms/{name}/join/", {}, content_type="application/json", **extra)


def test_every_tenants_member_joins_their_own_room_by_api_and_page(twelve):
    failed = []
    for tenant, room, member in twelve:
        client = Client()
        client.force_login(member)
        api = _api_join(client, room.name)
        if api.status_code != 200:
            failed.append(f"api {tenant.slug}: {api.status_code}")
        elif api.json()["jitsi_url"] != f"https://meet.{tenant.slug}.example.org/office-hours":
            failed.append(f"api {tenant.slug}: another tenant's room {api.json()['jitsi_url']}")
        page = client.get(f"/{tenant.slug}/r/{room.name}/")
        if page.status_code != 200 or b'data-testid="meeting"' not in page.content:
            failed.append(f"page {tenant.slug}: {page.status_code}")
    assert not failed, f"{len(failed)} of {2 * TENANTS} joins failed: {failed}"


def test_a_member_of_several_names_the_tenant(twelve, settings):
    first, second = twelve[0], twelve[1]
    person = first[2]
    MembershipFactory(tenant=second[0], user=person, role=Membership.Role.MEMBER)
    client = Client()
    client.force_login(person)
    response = _api_join(client, "office-hours")
    assert response.status_code == 400, response.content
    error = response.json()["error"]
    assert error["code"] == "tenant_required"
    assert "X-Tenant" in error["message"]
    for tenant, _room, _member in (first, second):
        named = _api_join(client, "office-hours", HTTP_X_TENANT=tenant.slug)
        assert named.status_code == 200, named.content
        assert named.json()["jitsi_url"] == f"https://meet.{tenant.slug}.example.org/office-hours"
    by_query = client.post(
        f"/api/v1/rooms/office-hours/join/?tenant={second[0].slug}", {}, content_type="application/json"
    )
    assert by_query.status_code == 200
    # A tenant they are not a member of: its members-only room stays invisible; an unknown one says so.
    assert _api_join(client, "office-hours", HTTP_X_TENANT=twelve[2][0].slug).status_code == 404
    unknown = _api_join(client, "office-hours", HTTP_X_TENANT="no-such-place")
    assert unknown.status_code == 404
    assert unknown.json()["error"]["code"] == "tenant_not_found"


def test_an_outsider_names_the_tenant_of_a_link_room(twelve):
    tenant, room, _member = twelve[3]
    Room.objects.filter(pk=room.pk).update(access=Room.Access.LINK)
    outsider = twelve[4][2]  # a member of another tenant only: that one is the tenant without a hint
    client = Client()
    client.force_login(outsider)
    assert _api_join(client, room.name).json()["jitsi_url"].startswith("https://meet.inst04.")
    response = _api_join(client, room.name, HTTP_X_TENANT=tenant.slug)
    assert response.status_code == 200, response.content
    assert response.json()["jitsi_url"] == f"https://meet.{tenant.slug}.example.org/office-hours"


def test_a_person_without_membership_must_name_the_tenant(twelve):
    tenant, room, _member = twelve[5]
    Room.objects.filter(pk=room.pk).update(access=Room.Access.LINK)
    client = Client()
    client.force_login(UserFactory(username="nobody"))
    response = _api_join(client, room.name)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "tenant_required"
    assert _api_join(client, room.name, HTTP_X_TENANT=tenant.slug).status_code == 200
