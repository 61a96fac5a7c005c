"""The join page /<tenant>/r/<room>/: meeting page, forms, and refusals a person understands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from meetings import schedule
from meetings.models import Room
from tests.factories import RoomFactory
from tests.meetings.join_helpers import meeting_options, verify_for_room, with_code


@pytest.fixture(autouse=True)
def _fast_hashers(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def room(tenant, host):
    return RoomFactory(tenant=tenant, owner=host, name="algebra-7q3", title="Linear Algebra")


def url(room: Room) -> str:
    return f"/{room.tenant.slug}/r/{room.name}/"


def test_member_gets_meeting_page_with_token_for_the_room(
    client, room, member, django_assert_max_num_queries
):
    client.force_login(member)
    assert client.get(url(room)).status_code == 200  # warms the host map, records last_used_at
    assert client.get(url(room)).status_code == 200  # reloads the room that recording changed
    with django_assert_max_num_queries(1):  # tenant+deployment; session, user, room, series: cached
        response = client.get(url(room))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    options = meeting_options(response)
    assert options["domain"] == "meet.uzh.example.org"
    assert options["roomName"] == "algebra-7q3"
    assert options["userInfo"]["displayName"] == member.get_display_name()
    claims = verify_for_room(options["jwt"], room)
    assert claims["context"]["user"]["id"] == str(member.public_id)
    assert claims["context"]["user"]["moderator"] is False
    assert b"https://meet.uzh.example.org/external_api.js" in response.content


def test_host_is_moderator(client, room, host):
    client.force_login(host)
    claims = verify_for_room(meeting_options(client.get(url(room)))["jwt"], room)
    assert claims["context"]["user"]["moderator"] is True
    assert claims["context"]["user"]["affiliation"] == "owner"


def test_tenant_path_deployment_prefixes_room_name(client, room, member):
    room.tenant.deployment.tenant_path = "uzh"
    room.tenant.deployment.save(update_fields=["tenant_path"])
    client.force_login(member)
    options = meeting_options(client.get(url(room)))
    assert options["roomName"] == "uzh/algebra-7q3"
    claims = verify_for_room(options["jwt"], room)
    assert claims["sub"] == "uzh"


def test_anonymous_visitor_is_asked_to_sign_in(client, room):
    response = client.get(url(room))
    assert response.status_code == 403
    assert b"Sign in first" in response.content
    assert f'href="/saml2/login/?next=%2Fuzh%2Fr%2F{room.name}%2F"'.encode() in response.content
    posted = client.post(url(room), {"display_name": "Mallory"})
    assert posted.status_code == 403
    assert b"Sign in first" in posted.content


def test_outsider_gets_404_not_403(client, room, outsider, other_tenant):
    client.force_login(outsider)
    response = client.get(url(room))
    assert response.status_code == 404
    assert b"No such room" in response.content
    # Nor through their own tenant's prefix.
    assert client.get(f"/{other_tenant.slug}/r/{room.name}/").status_code == 404


def test_unknown_room_is_404_page(client, tenant, member):
    client.force_login(member)
    response = client.get(f"/{tenant.slug}/r/no-such-room/")
    assert response.status_code == 404
    assert b"No such room" in response.content


def test_member_not_invited(client, room, member):
    Room.objects.filter(pk=room.pk).update(access=Room.Access.INVITE)
    client.force_login(member)
    response = client.get(url(room))
    assert response.status_code == 403
    assert b"Not invited" in response.content
    assert b"Ask a host to invite you" in response.content


def test_guest_joins_link_room_with_display_name(client, room):
    Room.objects.filter(pk=room.pk).update(access=Room.Access.LINK)
    form = client.get(url(room))
    assert form.status_code == 200
    assert b'name="display_name"' in form.content
    assert b'name="access_code"' not in form.content
    empty = client.post(url(room), {"display_name": "  "})
    assert empty.status_code == 400
    assert b"Enter the name" in empty.content
    posted = client.post(url(room), {"display_name": "Grace Hopper"})
    assert posted.status_code == 302 and posted["Location"] == url(room)
    response = client.get(url(room))
    options = meeting_options(response)
    claims = verify_for_room(options["jwt"], room)
    assert claims["context"]["user"]["name"] == "Grace Hopper"
    assert claims["context"]["user"]["moderator"] is False
    # The same browser keeps its opaque guest id across visits.
    again = verify_for_room(meeting_options(client.get(url(room)))["jwt"], room)
    assert again["context"]["user"]["id"] == claims["context"]["user"]["id"]


def test_access_code_form_wrong_then_right(client, room, member):
    with_code(room, "tulip")
    client.force_login(member)
    form = client.get(url(room))
    assert form.status_code == 200
    assert b'name="access_code"' in form.content
    assert b'name="display_name"' not in form.content
    wrong = client.post(url(room), {"access_code": "rose"})
    assert wrong.status_code == 403
    assert b"That access code is not right" in wrong.content
    assert b'name="access_code"' in wrong.content
    right = client.post(url(room), {"access_code": "tulip"})
    assert right.status_code == 302
    # Remembered for this session: reloads do not ask again.
    verify_for_room(meeting_options(client.get(url(room)))["jwt"], room)


def test_guest_with_code_and_name_in_one_form(client, room):
    Room.objects.filter(pk=room.pk).update(access=Room.Access.LINK)
    with_code(room, "tulip")
    form = client.get(url(room))
    assert b'name="display_name"' in form.content and b'name="access_code"' in form.content
    assert client.post(url(room), {"display_name": "Ada", "access_code": "nope"}).status_code == 403
    assert client.post(url(room), {"display_name": "Ada", "access_code": "tulip"}).status_code == 302
    assert meeting_options(client.get(url(room)))["userInfo"]["displayName"] == "Ada"


def test_host_skips_access_code(client, room, host):
    with_code(room, "tulip")
    client.force_login(host)
    verify_for_room(meeting_options(client.get(url(room)))["jwt"], room)


def test_not_open_yet_shows_opening_time_and_countdown(client, room, member, monkeypatch):
    opens_at = timezone.now() + timedelta(minutes=12)
    monkeypatch.setattr(
        schedule, "join_window", lambda room, now: schedule.JoinWindow(is_open=False, opens_at=opens_at)
    )
    client.force_login(member)
    response = client.get(url(room))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Not open yet" in body
    assert 'data-testid="opens-at"' in body
    assert f'data-opens-at="{opens_at.astimezone(timezone.get_default_timezone()).isoformat()}' in body or (
        "data-opens-at=" in body
    )
    assert "js/countdown.js" in body
    assert "jitsi-options" not in body


def test_bad_method_and_bad_shapes(client, room, member):
    client.force_login(member)
    assert client.put(url(room)).status_code == 405
    with_code(room, "tulip")
    # Oversized or odd input: a clear answer, never a 500.
    assert client.post(url(room), {"access_code": "x" * 5000}).status_code == 403
    assert client.post(url(room), {"access_code": ["a", "b"]}).status_code in (302, 403)


def test_join_on_tenant_own_host(client, room, member, settings):
    from tenants.middleware import forget_hosts
    from tenants.models import TenantHost

    settings.ALLOWED_HOSTS = ["meet.uzh.example.ch", "testserver"]
    TenantHost.objects.create(tenant=room.tenant, host="meet.uzh.example.ch")
    forget_hosts()
    try:
        client.force_login(member)
        response = client.get(f"/r/{room.name}/", HTTP_HOST="meet.uzh.example.ch")
        assert response.status_code == 200
        verify_for_room(meeting_options(response)["jwt"], room)
    finally:
        forget_hosts()


def test_bench_view_only_when_enabled(client, settings, db):
    settings.BENCH_VIEWS = False
    assert client.get("/bench/bare").status_code == 404
    settings.BENCH_VIEWS = True
    assert client.get("/bench/bare").json() == {"ok": True}


def test_events_bench_baseline_only_when_enabled(client, settings, db, django_assert_num_queries):
    settings.BENCH_VIEWS = False
    assert client.get("/bench/select").status_code == 404
    settings.BENCH_VIEWS = True
    with django_assert_num_queries(1):
        assert client.get("/bench/select").json() == {"ok": True}


def test_refused_visitors_leave_no_session(client, room):
    assert client.get(url(room)).status_code == 403  # sign in first
    Room.objects.filter(pk=room.pk).update(access=Room.Access.LINK)
    assert client.get(url(room)).status_code == 200  # the name form
    assert "sessionid" not in client.cookies
