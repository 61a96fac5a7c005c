"""Rooms through the API: every endpoint for every kind of caller, mass assignment, visibility, queries."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from meetings.models import Room
from tenants.models import AuditEntry, Membership
from tests.api_support import assert_error, bearer_client, session_client, token_for
from tests.factories import MembershipFactory, RoomFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield


@pytest.fixture
def cohost(tenant):
    return MembershipFactory(
        tenant=tenant, role=Membership.Role.MEMBER, user=UserFactory(username="cohost")
    ).user


@pytest.fixture
def room(tenant, host, cohost):
    room = RoomFactory(
        tenant=tenant, owner=host, title="Algebra", name="algebra-k3x9", access=Room.Access.TENANT
    )
    room.co_hosts.add(cohost)
    return room


@pytest.fixture
def clients(tenant, other_tenant, host, member, admin_user, outsider):
    return {
        "anonymous": APIClient(),
        "no_scope": bearer_client(token_for(host, tenant, scopes=["join"])),
        "member": bearer_client(token_for(member, tenant)),
        "host": bearer_client(token_for(host, tenant)),
        "admin": bearer_client(token_for(admin_user, tenant)),
        "outsider": bearer_client(token_for(outsider, other_tenant)),
    }


def _call(client, method, path, cohost):
    payloads = {
        ("post", "/api/v1/rooms/"): {"title": "New lecture"},
        ("patch", "/api/v1/rooms/algebra-k3x9/"): {"title": "Linear algebra"},
        ("put", "/api/v1/rooms/algebra-k3x9/"): {"title": "Linear algebra", "access": "link"},
        ("post", "/api/v1/rooms/algebra-k3x9/co-hosts/"): {"user": str(cohost.public_id)},
    }
    path = path.replace("<cohost>", str(cohost.public_id))
    return getattr(client, method)(path, payloads.get((method, path), {}), format="json")


ENDPOINTS = [
    ("get", "/api/v1/rooms/"),
    ("post", "/api/v1/rooms/"),
    ("get", "/api/v1/rooms/algebra-k3x9/"),
    ("patch", "/api/v1/rooms/algebra-k3x9/"),
    ("put", "/api/v1/rooms/algebra-k3x9/"),
    ("post", "/api/v1/rooms/algebra-k3x9/archive/"),
    ("get", "/api/v1/rooms/algebra-k3x9/co-hosts/"),
    ("post", "/api/v1/rooms/algebra-k3x9/co-hosts/"),
    ("delete", "/api/v1/rooms/algebra-k3x9/co-hosts/<cohost>/"),
]
WRITES = {1, 3, 4, 5, 7, 8}
SUCCESS = [200, 201, 200, 200, 200, 200, 200, 200, 204]
ids = [f"{m} {p}" for m, p in ENDPOINTS]


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=ids)
def test_anonymous_gets_401(room, clients, cohost, method, path):
    assert_error(_call(clients["anonymous"], method, path, cohost), 401, "not_authenticated")


@pytest.mark.parametrize(("method", "path"), ENDPOINTS, ids=ids)
def test_token_without_the_scope_gets_403(room, clients, cohost, method, path):
    error = assert_error(_call(clients["no_scope"], method, path, cohost), 403, "missing_scope")
    assert "scope" in error["message"]


@pytest.mark.parametrize(("index", "endpoint"), list(enumerate(ENDPOINTS)), ids=ids)
def test_member(room, clients, cohost, index, endpoint):
    response = _call(clients["member"], *endpoint, cohost)
    if index in WRITES:
        assert_error(response, 403, "missing_scope")
    else:
        assert response.status_code == 200, response.content


@pytest.mark.parametrize(("index", "endpoint"), list(enumerate(ENDPOINTS)), ids=ids)
@pytest.mark.parametrize("actor", ["host", "admin"])
def test_host_and_admin(room, clients, cohost, index, endpoint, actor):
    response = _call(clients[actor], *endpoint, cohost)
    assert response.status_code == SUCCESS[index], response.content


@pytest.mark.parametrize(("index", "endpoint"), list(enumerate(ENDPOINTS)), ids=ids)
def test_outsider_gets_404(room, clients, cohost, index, endpoint, other_tenant):
    response = _call(clients["outsider"], *endpoint, cohost)
    if endpoint == ("get", "/api/v1/rooms/"):
        assert response.json()["count"] == 0  # its own tenant's (empty) list, never ours
    elif endpoint == ("post", "/api/v1/rooms/"):
        assert response.status_code == 201  # created in the outsider's own tenant
        assert Room.objects.get(name=response.json()["name"]).tenant == other_tenant
    else:
        error = assert_error(response, 404, "not_found")
        assert "algebra-k3x9" in error["message"]  # names what was asked for, reveals nothing more
    room.refresh_from_db()
    assert (room.title, room.archived, room.co_hosts.count()) == ("Algebra", False, 1)


def test_outsider_session_naming_our_tenant_gets_404(room, outsider):
    client = session_client(outsider)
    assert_error(client.get("/api/v1/rooms/", HTTP_X_TENANT="uzh"), 404, "tenant_not_found")
    assert_error(client.get("/api/v1/rooms/algebra-k3x9/"), 404)  # resolves to eth: no such room


def test_token_naming_another_tenant_is_refused(room, host, tenant):
    response = bearer_client(token_for(host, tenant)).get("/api/v1/rooms/", HTTP_X_TENANT="eth")
    error = assert_error(response, 400, "tenant_mismatch")
    assert "uzh" in error["fields"]["tenant"][0]


def test_host_who_is_not_a_host_of_this_room_cannot_change_it(room, tenant):
    other_host = MembershipFactory(
        tenant=tenant, role=Membership.Role.HOST, user=UserFactory(username="h2")
    ).user
    client = bearer_client(token_for(other_host, tenant))
    assert client.get("/api/v1/rooms/algebra-k3x9/").status_code == 200  # a tenant room: readable
    assert_error(client.patch("/api/v1/rooms/algebra-k3x9/", {"title": "x"}, format="json"), 403, "not_host")
    assert_error(client.post("/api/v1/rooms/algebra-k3x9/archive/"), 403, "not_host")
    assert_error(
        client.post(
            "/api/v1/rooms/algebra-k3x9/co-hosts/", {"user": str(other_host.public_id)}, format="json"
        ),
        403,
        "not_owner",
    )


def test_cohost_may_change_but_not_manage_cohosts(room, tenant, cohost):
    # A co-host with a member role has no rooms:write: via session their role decides; make them a host.
    Membership.objects.filter(user=cohost, tenant=tenant).update(role=Membership.Role.HOST)
    client = bearer_client(token_for(cohost, tenant))
    assert client.patch("/api/v1/rooms/algebra-k3x9/", {"lobby": True}, format="json").status_code == 200
    assert_error(client.delete(f"/api/v1/rooms/algebra-k3x9/co-hosts/{cohost.public_id}/"), 403, "not_owner")


def test_invite_rooms_are_invisible_to_uninvited_members(tenant, host, member):
    secret = RoomFactory(tenant=tenant, owner=host, name="board-q8", access=Room.Access.INVITE)
    client = bearer_client(token_for(member, tenant))
    assert_error(client.get("/api/v1/rooms/board-q8/"), 404)
    assert client.get("/api/v1/rooms/").json()["count"] == 0
    secret.invitees.add(member)
    assert client.get("/api/v1/rooms/board-q8/").status_code == 200
    assert [r["name"] for r in client.get("/api/v1/rooms/").json()["results"]] == ["board-q8"]


def test_list_shows_own_rooms_and_admins_see_all(room, tenant, host, admin_user, cohost):
    RoomFactory(tenant=tenant, owner=admin_user, name="admins-room")
    host_names = [
        r["name"] for r in bearer_client(token_for(host, tenant)).get("/api/v1/rooms/").json()["results"]
    ]
    assert host_names == ["algebra-k3x9"]
    cohost_names = [r["name"] for r in session_client(cohost).get("/api/v1/rooms/").json()["results"]]
    assert cohost_names == ["algebra-k3x9"]
    admin = bearer_client(token_for(admin_user, tenant)).get("/api/v1/rooms/").json()
    assert admin["count"] == 2


def test_archived_rooms_leave_the_list(room, host, tenant):
    client = bearer_client(token_for(host, tenant))
    body = client.post("/api/v1/rooms/algebra-k3x9/archive/").json()
    assert body["archived"] is True
    assert client.get("/api/v1/rooms/").json()["count"] == 0
    assert client.get("/api/v1/rooms/?archived=true").json()["count"] == 1
    # Archiving twice is harmless and audited once.
    client.post("/api/v1/rooms/algebra-k3x9/archive/")
    assert AuditEntry.objects.filter(action="room.archived", target="algebra-k3x9").count() == 1


def test_create_room_injects_tenant_and_owner_and_audits(host, tenant):
    response = bearer_client(token_for(host, tenant)).post(
        "/api/v1/rooms/", {"title": "Physik für Alle", "lobby": True}, format="json"
    )
    assert response.status_code == 201
    body = response.json()
    room = Room.objects.get(name=body["name"])
    assert (room.tenant, room.owner, room.lobby) == (tenant, host, True)
    assert body["name"].startswith("physik-fur-alle-") and len(body["name"]) == len("physik-fur-alle-") + 10
    assert body["owner"] == {"id": str(host.public_id), "display_name": host.get_display_name()}
    assert body["is_host"] is True
    assert body["url"].endswith(f"/uzh/r/{room.name}/")
    assert AuditEntry.objects.filter(
        tenant=tenant, actor=host, action="room.created", target=room.name
    ).exists()


def test_mass_assignment_has_no_effect(host, tenant, other_tenant, outsider, member):
    client = bearer_client(token_for(host, tenant))
    payload = {
        "title": "Honest",
        "id": 999999,
        "pk": 999999,
        "owner": outsider.pk,
        "tenant": other_tenant.pk,
        "role": "admin",
        "archived": True,
        "is_anonymous": True,
        "access_code_hash": "x",
        "co_hosts": [member.pk],
        "created_at": "2001-01-01T00:00:00Z",
    }
    response = client.post("/api/v1/rooms/", payload, format="json")
    assert response.status_code == 201
    room = Room.objects.get(name=response.json()["name"])
    assert room.pk != 999999
    assert (room.owner, room.tenant, room.archived, room.is_anonymous, room.access_code_hash) == (
        host,
        tenant,
        False,
        False,
        "",
    )
    assert room.co_hosts.count() == 0 and room.created_at.year > 2001
    assert Membership.objects.get(user=host, tenant=tenant).role == Membership.Role.HOST
    response = client.patch(f"/api/v1/rooms/{room.name}/", {**payload, "name": "renamed"}, format="json")
    assert response.status_code == 200
    room.refresh_from_db()
    assert (room.owner, room.tenant, room.archived, room.name) == (
        host,
        tenant,
        False,
        response.json()["name"],
    )
    assert room.name != "renamed"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "title"),
        ({"title": ""}, "title"),
        ({"title": "x" * 201}, "title"),
        ({"title": "x", "name": "Not A Slug"}, "name"),
        ({"title": "x", "name": "-x"}, "name"),
        ({"title": "x", "access": "everyone"}, "access"),
        ({"title": "x", "lobby": "perhaps"}, "lobby"),
        ({"title": "x", "name": "algebra-k3x9"}, "name"),
    ],
)
def test_create_room_bad_input_names_the_field(room, host, tenant, payload, field):
    before = Room.objects.count()
    response = bearer_client(token_for(host, tenant)).post("/api/v1/rooms/", payload, format="json")
    error = assert_error(response, 400, "invalid")
    assert field in error["fields"], error
    assert Room.objects.count() == before


def test_same_name_in_another_tenant_is_fine(room, outsider, other_tenant):
    response = bearer_client(token_for(outsider, other_tenant)).post(
        "/api/v1/rooms/", {"title": "x", "name": "algebra-k3x9"}, format="json"
    )
    assert response.status_code == 201


def test_put_needs_the_title_patch_does_not(room, host, tenant):
    client = bearer_client(token_for(host, tenant))
    assert_error(client.put("/api/v1/rooms/algebra-k3x9/", {"lobby": True}, format="json"), 400, "invalid")
    body = client.patch("/api/v1/rooms/algebra-k3x9/", {"lobby": True}, format="json").json()
    assert body["lobby"] is True and body["title"] == "Algebra"
    entry = AuditEntry.objects.get(action="room.changed")  # the pages' audit action: one update_room
    assert entry.data == {"fields": ["lobby"]}


def test_cohosts_add_and_remove(room, host, tenant, member, cohost, outsider):
    client = bearer_client(token_for(host, tenant))
    body = client.post(
        "/api/v1/rooms/algebra-k3x9/co-hosts/", {"user": str(member.public_id)}, format="json"
    ).json()
    assert {p["id"] for p in body} == {str(member.public_id), str(cohost.public_id)}
    # Only members of the tenant, never the owner, never garbage.
    for user_id, message in (
        (str(outsider.public_id), "No member"),
        (str(host.public_id), "owner"),
        ("not-a-uuid", "UUID"),
    ):
        error = assert_error(
            client.post("/api/v1/rooms/algebra-k3x9/co-hosts/", {"user": user_id}, format="json"),
            400,
            "invalid",
        )
        assert message in error["fields"]["user"][0]
    assert client.delete(f"/api/v1/rooms/algebra-k3x9/co-hosts/{member.public_id}/").status_code == 204
    assert_error(client.delete(f"/api/v1/rooms/algebra-k3x9/co-hosts/{member.public_id}/"), 404)
    assert list(room.co_hosts.all()) == [cohost]
    assert AuditEntry.objects.filter(action__startswith="room.co_host_").count() == 2


def test_delete_room_is_405_json(room, host, tenant):
    response = bearer_client(token_for(host, tenant)).delete("/api/v1/rooms/algebra-k3x9/")
    assert_error(response, 405, "method_not_allowed")
    assert Room.objects.filter(pk=room.pk).exists()


def _list_rooms(tenant, host, count):
    for n in range(count):
        room = RoomFactory(tenant=tenant, owner=host, name=f"r-{n:03d}")
        room.co_hosts.add(MembershipFactory(tenant=tenant, user=UserFactory(username=f"co{n}")).user)


@pytest.mark.parametrize("count", [1, 20])
def test_room_list_query_count_by_token_is_pinned(host, tenant, django_assert_num_queries, count):
    _list_rooms(tenant, host, count)
    client = bearer_client(token_for(host, tenant))
    client.get("/api/v1/rooms/")  # warm the host map and record the token's use
    # token, membership, count, rooms with owner and tenant, co-hosts
    with django_assert_num_queries(5):
        body = client.get("/api/v1/rooms/").json()
    assert body["count"] == count and all(r["co_hosts"] for r in body["results"])


def test_room_list_query_count_by_session_is_pinned(host, tenant, django_assert_num_queries):
    _list_rooms(tenant, host, 10)
    client = session_client(host)
    client.get("/api/v1/rooms/")
    # membership, count, rooms, co-hosts (session and user come from the caches)
    with django_assert_num_queries(4):
        assert client.get("/api/v1/rooms/").json()["count"] == 10


def test_cohost_list_query_count_is_pinned(host, tenant, django_assert_num_queries):
    _list_rooms(tenant, host, 1)
    client = bearer_client(token_for(host, tenant))
    client.get("/api/v1/rooms/r-000/co-hosts/")
    # token, membership, room, its co-hosts (prefetched once, listed from the prefetch)
    with django_assert_num_queries(4):
        assert len(client.get("/api/v1/rooms/r-000/co-hosts/").json()) == 1


def test_pagination(host, tenant):
    _list_rooms(tenant, host, 3)
    body = bearer_client(token_for(host, tenant)).get("/api/v1/rooms/?limit=2&offset=1").json()
    assert body["count"] == 3 and [r["name"] for r in body["results"]] == ["r-001", "r-002"]
    assert body["previous"] and body["next"] is None
