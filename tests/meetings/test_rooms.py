"""Rooms through their pages: create, edit, archive, hand over, co-hosts; who may see what."""

from __future__ import annotations

import re

import pytest

from meetings.access import check_access_code
from meetings.models import Room
from tenants.models import AuditEntry, Membership
from tests.conftest import warm_request_caches
from tests.factories import MembershipFactory, UserFactory
from tests.meetings.helpers import make_room, make_series

pytestmark = pytest.mark.django_db


@pytest.fixture
def room(tenant, host):
    return make_room(host, tenant, title="Introduction to Law")


@pytest.fixture
def other_host(tenant):
    return MembershipFactory(
        tenant=tenant, role=Membership.Role.HOST, user=UserFactory(username="colleague")
    ).user


def room_data(**overrides):
    data = {
        "title": "Introduction to Law",
        "description": "",
        "access": "tenant",
        "allow_participant_screen_sharing": "on",
        "public_name": "",
    }
    data.update(overrides)
    return data


# Create ----------------------------------------------------------------------------------------


def test_host_creates_room_with_unguessable_name(client, tenant, host):
    client.force_login(host)
    response = client.post("/uzh/rooms/new/", room_data(title="Einführung ins Recht"))
    room = Room.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/uzh/rooms/{room.name}/"  # the room page, with its share panel
    assert re.fullmatch(r"einfuhrung-ins-recht-[a-z2-7]{10}", room.name)
    assert (room.tenant, room.owner, room.access) == (tenant, host, Room.Access.TENANT)
    assert room.allow_participant_screen_sharing and not room.allow_recording
    assert room.join_path == f"/uzh/r/{room.name}/"
    assert AuditEntry.objects.filter(
        tenant=tenant, actor=host, action="room.created", target=room.name
    ).exists()


def test_two_rooms_with_the_same_title_get_different_names(client, host):
    client.force_login(host)
    client.post("/uzh/rooms/new/", room_data())
    client.post("/uzh/rooms/new/", room_data())
    names = list(Room.objects.values_list("name", flat=True))
    assert len(set(names)) == 2


def test_host_may_pick_a_public_name(client, host):
    client.force_login(host)
    response = client.post("/uzh/rooms/new/", room_data(public_name="office-hours-smith"))
    assert response.status_code == 302
    assert Room.objects.get().name == "office-hours-smith"


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        (room_data(title=""), "title", "This field is required."),
        (room_data(title="   "), "title", "This field is required."),
        (room_data(access="everyone"), "access", "Select a valid choice."),
        (room_data(public_name="Office Hours"), "public_name", "Use lowercase letters only."),
        (room_data(public_name="office hours"), "public_name", "Use lowercase letters, digits and hyphens"),
        (room_data(public_name="-office"), "public_name", "Use lowercase letters, digits and hyphens"),
        (room_data(public_name="b\u00fcro"), "public_name", "Use lowercase letters, digits and hyphens"),
        (room_data(public_name="ab"), "public_name", "at least 3 characters"),
        (room_data(public_name="new"), "public_name", "“new” is used by the portal itself."),
        (room_data(public_name="x" * 101), "public_name", "at most 100 characters"),
    ],
)
def test_bad_room_input_is_explained_and_writes_nothing(client, host, data, field, message):
    client.force_login(host)
    response = client.post("/uzh/rooms/new/", data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])
    assert Room.objects.count() == 0
    assert not AuditEntry.objects.filter(action="room.created").exists()


def test_public_name_must_be_unique_in_the_tenant_only(client, tenant, other_tenant, host, outsider):
    make_room(outsider, other_tenant, public_name="office-hours")
    client.force_login(host)
    assert client.post("/uzh/rooms/new/", room_data(public_name="office-hours")).status_code == 302
    response = client.post("/uzh/rooms/new/", room_data(public_name="office-hours"))
    assert response.status_code == 200
    assert "The name “office-hours” is already taken." in response.content.decode()
    assert Room.objects.filter(tenant=tenant).count() == 1


# Edit ------------------------------------------------------------------------------------------


def test_host_edits_room_and_sets_a_hashed_access_code(client, room, host):
    client.force_login(host)
    url = f"/uzh/rooms/{room.name}/edit/"
    assert client.get(url).status_code == 200
    response = client.post(url, room_data(title="Law I", access="link", lobby="on", access_code="4711"))
    assert response.status_code == 302
    room.refresh_from_db()
    assert (room.title, room.access, room.lobby) == ("Law I", Room.Access.LINK, True)
    assert "4711" not in room.access_code_hash and check_access_code(room, "4711")
    entry = AuditEntry.objects.get(action="room.changed")
    assert "4711" not in str(entry.data)
    client.post(url, room_data(title="Law I", access="link", clear_access_code="on"))
    room.refresh_from_db()
    assert room.access_code_hash == ""


def test_bad_edit_changes_nothing(client, room, host):
    client.force_login(host)
    url = f"/uzh/rooms/{room.name}/edit/"
    response = client.post(url, room_data(title="", access_code="12"))
    assert response.status_code == 200
    assert "Ensure this value has at least 4 characters" in response.content.decode()
    response = client.post(url, room_data(access_code="123456", clear_access_code="on"))
    assert "Either set a new access code or remove it, not both." in response.content.decode()
    room.refresh_from_db()
    assert room.title == "Introduction to Law" and room.access_code_hash == ""


# Lists and detail ------------------------------------------------------------------------------


def test_room_list_shows_owned_and_co_hosted_rooms_only(client, tenant, host, other_host, room):
    shared = make_room(other_host, tenant, title="Shared seminar")
    shared.co_hosts.add(host)
    make_room(other_host, tenant, title="Not mine")
    client.force_login(host)
    content = client.get("/uzh/rooms/").content.decode()
    assert "Introduction to Law" in content and "Shared seminar" in content
    assert "Not mine" not in content


def test_room_list_query_count_does_not_grow_with_rooms(
    client, tenant, host, other_host, django_assert_num_queries
):
    client.force_login(host)
    for i in range(3):
        make_room(host, tenant, title=f"Room {i}")
    warm_request_caches(tenant)  # per-process and shared caches: loaded outside the count
    client.get("/uzh/rooms/")  # and the signed-in user's row (tenants/hotcache.py)
    # tenant, membership, rooms, their series for the next lecture (the series' changes when there are
    # series); session and user come from the caches
    with django_assert_num_queries(4):
        assert client.get("/uzh/rooms/").status_code == 200
    for i in range(5):
        make_room(other_host, tenant, title=f"Co-hosted {i}").co_hosts.add(host)
    warm_request_caches(tenant)
    with django_assert_num_queries(4):
        response = client.get("/uzh/rooms/")
    assert len(response.context["rows"]) == 8


def test_room_detail_and_share_page(client, room, host):
    client.force_login(host)
    detail = client.get(f"/uzh/rooms/{room.name}/")
    assert detail.status_code == 200
    assert f"http://testserver/uzh/r/{room.name}/" in detail.content.decode()
    share = client.get(f"/uzh/rooms/{room.name}/share/").content.decode()
    assert f'value="http://testserver/uzh/r/{room.name}/"' in share
    assert "<svg" in share and 'data-testid="copy-link"' in share


# Access ----------------------------------------------------------------------------------------


def test_member_gets_a_403_page_for_host_pages(client, member, room):
    client.force_login(member)
    for url in (
        "/uzh/rooms/",
        "/uzh/rooms/new/",
        f"/uzh/rooms/{room.name}/",
        f"/uzh/rooms/{room.name}/edit/",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert (
            "Only hosts and administrators of University of Zurich can manage rooms."
            in response.content.decode()
        )
    assert client.post("/uzh/rooms/new/", room_data()).status_code == 403
    assert Room.objects.count() == 1


def test_anonymous_is_sent_to_sign_in(client, room):
    response = client.get("/uzh/rooms/")
    assert response.status_code == 302 and response["Location"].startswith("/saml2/login/")


def room_urls(room, series):
    base = f"/uzh/rooms/{room.name}/"
    s = f"{base}series/{series.code}/"
    key = "20260302T091500Z"
    return {
        "get": [
            "/uzh/rooms/",
            "/uzh/rooms/new/",
            base,
            base + "edit/",
            base + "share/",
            base + "people/",
            base + "archive/",
            base + "transfer/",
            base + "series/new/",
            s,
            s + "edit/",
            s + "delete/",
            f"{s}lectures/{key}/cancel/",
            f"{s}lectures/{key}/move/",
            "/uzh/lectures/",
            f"/uzh/lectures/{series.code}.ics",
        ],
        "post": [
            "/uzh/rooms/new/",
            base + "edit/",
            base + "people/",
            base + "archive/",
            base + "transfer/",
            base + "series/new/",
            s + "edit/",
            s + "delete/",
            s + "rotate-feed/",
            f"{s}lectures/{key}/cancel/",
            f"{s}lectures/{key}/move/",
            f"{s}lectures/{key}/restore/",
            "/uzh/lectures/feed/rotate/",
        ],
    }


def test_outsider_gets_404_for_every_room_url_of_the_tenant(client, room, outsider):
    series = make_series(room)
    client.force_login(outsider)
    urls = room_urls(room, series)
    for url in urls["get"]:
        assert client.get(url).status_code == 404, url
    for url in urls["post"]:
        assert (
            client.post(
                url, {"title": "x", "email": "outsider@example.org", "action": "add_co_host"}
            ).status_code
            == 404
        ), url
    room.refresh_from_db()
    assert not room.archived and room.owner.username == "lecturer"
    assert series.changes.count() == 0
    assert not AuditEntry.objects.filter(actor=outsider).exists()


def test_host_who_is_not_in_the_room_gets_404(client, room, other_host):
    series = make_series(room)
    client.force_login(other_host)
    urls = room_urls(room, series)
    for url in urls["get"]:
        if url.startswith(f"/uzh/rooms/{room.name}/"):
            assert client.get(url).status_code == 404, url
    for url in urls["post"]:
        if url.startswith(f"/uzh/rooms/{room.name}/"):
            assert client.post(url, {"title": "x"}).status_code == 404, url


def test_co_host_manages_lectures_but_not_ownership(client, room, other_host):
    room.co_hosts.add(other_host)
    client.force_login(other_host)
    base = f"/uzh/rooms/{room.name}/"
    for url in (base, base + "edit/", base + "share/", base + "series/new/"):
        assert client.get(url).status_code == 200, url
    for url in (base + "people/", base + "archive/", base + "transfer/"):
        assert client.get(url).status_code == 404, url


# Archive and transfer --------------------------------------------------------------------------


def test_host_archives_room(client, room, host, tenant):
    client.force_login(host)
    assert client.get(f"/uzh/rooms/{room.name}/archive/").status_code == 200
    response = client.post(f"/uzh/rooms/{room.name}/archive/")
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.archived
    assert client.get(f"/uzh/rooms/{room.name}/").status_code == 404
    assert list(client.get("/uzh/rooms/").context["rows"]) == []
    assert AuditEntry.objects.filter(tenant=tenant, action="room.archived", target=room.name).exists()


def test_host_transfers_room_to_another_host(client, room, host, other_host):
    client.force_login(host)
    url = f"/uzh/rooms/{room.name}/transfer/"
    response = client.post(url, {"email": "COLLEAGUE@example.org", "keep_as_co_host": "on"})
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.owner == other_host
    assert list(room.co_hosts.all()) == [host]
    entry = AuditEntry.objects.get(action="room.transferred")
    assert entry.data == {"previous_owner": "lecturer", "new_owner": "colleague"}
    # Now a co-host: the owner's pages are gone for the previous owner.
    assert client.get(url).status_code == 404


def test_transfer_without_keeping_removes_access(client, room, host, other_host):
    client.force_login(host)
    client.post(f"/uzh/rooms/{room.name}/transfer/", {"email": "colleague@example.org"})
    room.refresh_from_db()
    assert room.owner == other_host and room.co_hosts.count() == 0
    assert client.get(f"/uzh/rooms/{room.name}/").status_code == 404


@pytest.mark.parametrize(
    ("email", "message"),
    [
        ("student@example.org", "student@example.org is not a lecturer (host) of University of Zurich."),
        ("outsider@example.org", "outsider@example.org is not a lecturer (host) of University of Zurich."),
        ("nobody@example.org", "is not a lecturer (host)"),
        ("lecturer@example.org", "You own this room already."),
        ("not-an-address", "Enter a valid email address."),
    ],
)
def test_transfer_target_must_be_another_host_of_the_tenant(
    client, room, host, member, outsider, email, message
):
    client.force_login(host)
    response = client.post(f"/uzh/rooms/{room.name}/transfer/", {"email": email})
    assert response.status_code == 200
    assert message in response.content.decode()
    room.refresh_from_db()
    assert room.owner == host
    assert not AuditEntry.objects.filter(action="room.transferred").exists()


def test_blocked_host_cannot_receive_a_room(client, room, host, other_host, tenant):
    Membership.objects.filter(user=other_host, tenant=tenant).update(is_blocked=True)
    client.force_login(host)
    response = client.post(f"/uzh/rooms/{room.name}/transfer/", {"email": "colleague@example.org"})
    assert response.status_code == 200
    room.refresh_from_db()
    assert room.owner == host


# Co-hosts and invitees -------------------------------------------------------------------------


def test_co_host_added_by_email_of_a_member_and_removed(client, room, host, member):
    client.force_login(host)
    url = f"/uzh/rooms/{room.name}/people/"
    response = client.post(url, {"action": "add_co_host", "co_host-email": "Student@Example.org"})
    assert response.status_code == 302
    assert list(room.co_hosts.all()) == [member]
    response = client.post(url, {"action": "remove_co_host", "person": str(member.public_id)})
    assert response.status_code == 302
    assert room.co_hosts.count() == 0
    actions = list(AuditEntry.objects.filter(target=room.name).values_list("action", flat=True))
    assert "room.co_host_added" in actions and "room.co_host_removed" in actions


def test_non_member_is_refused_as_co_host_with_a_message(client, room, host, outsider):
    client.force_login(host)
    url = f"/uzh/rooms/{room.name}/people/"
    response = client.post(url, {"action": "add_co_host", "co_host-email": "outsider@example.org"})
    assert response.status_code == 200
    assert (
        "outsider@example.org is not a member of University of Zurich. "
        "People appear here after their first sign-in." in response.content.decode()
    )
    assert room.co_hosts.count() == 0
    response = client.post(url, {"action": "add_co_host", "co_host-email": "lecturer@example.org"})
    assert "lecturer@example.org owns this room already." in response.content.decode()
    assert room.co_hosts.count() == 0


def test_invitees_by_email(client, room, host, member):
    client.force_login(host)
    url = f"/uzh/rooms/{room.name}/people/"
    assert (
        client.post(url, {"action": "add_invitee", "invitee-email": "student@example.org"}).status_code == 302
    )
    assert list(room.invitees.all()) == [member]
    assert client.post(url, {"action": "remove_invitee", "person": "not-a-uuid"}).status_code == 404
    assert client.post(url, {"action": "unknown"}).status_code == 400
    assert room.invitees.count() == 1


# Admin -----------------------------------------------------------------------------------------


def test_admin_lists_rooms_read_only_and_archives_through_the_service(client, room, tenant):
    operator = UserFactory(username="operator", is_staff=True, is_superuser=True)
    make_series(room)
    client.force_login(operator)
    for url in (
        "/admin/meetings/room/",
        f"/admin/meetings/room/{room.pk}/change/",
        "/admin/meetings/lectureseries/",
        "/admin/meetings/occurrencechange/",
        "/admin/meetings/personalfeed/",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        assert room.series.get().feed_token not in response.content.decode()
    assert client.get("/admin/meetings/room/add/").status_code == 403
    response = client.post(
        "/admin/meetings/room/", {"action": "archive", "_selected_action": [room.pk], "index": 0}
    )
    assert response.status_code == 302
    room.refresh_from_db()
    assert room.archived
    assert AuditEntry.objects.filter(tenant=tenant, actor=operator, action="room.archived").exists()


def test_co_host_given_directly_must_be_a_member(room, host, member, outsider):
    from django.core.exceptions import ValidationError

    from meetings import services

    services.add_co_host(actor=host, room=room, user=member)
    with pytest.raises(ValidationError, match="not a member of University of Zurich"):
        services.add_co_host(actor=host, room=room, user=outsider)
    assert list(room.co_hosts.all()) == [member]


def test_share_page_escapes_a_title_with_markup(client, tenant, host):
    room = make_room(host, tenant, title="<script>alert(1)</script>")
    client.force_login(host)
    content = client.get(f"/uzh/rooms/{room.name}/share/").content.decode()
    assert "<script>alert(1)" not in content
    assert "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>" in content
