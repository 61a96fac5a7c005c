"""Stream keys, the media server's callbacks, HLS viewing passes and the stream pages (no media server: the
end-to-end test runs the real nginx)."""

from __future__ import annotations

import json
import time

import pytest
from django.test import Client

from meetings.streams import hooks, passes, services
from meetings.streams.models import RoomStream, StreamSession
from tenants.models import AuditEntry
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_rules():
    hooks.forget_rules()
    yield
    hooks.forget_rules()


@pytest.fixture
def room(tenant, host):
    return RoomFactory(tenant=tenant, owner=host, name="algebra", title="Algebra", allow_livestreaming=True)


@pytest.fixture
def stream(room, host) -> RoomStream:
    return services.enable_stream(actor=host, room=room)


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def nginx(client: Client, call: str, path: str, key: str = "", clientid: str = "7"):
    return client.post(
        "/streams/hooks/nginx-rtmp",
        {"call": call, "app": "live", "name": path, "key": key, "addr": "10.0.0.5", "clientid": clientid},
    )


def hls(client: Client, uri: str, token: str = ""):
    headers = {"HTTP_X_ORIGINAL_URI": uri}
    if token:
        headers["HTTP_X_STREAM_PASS"] = token
    return client.get("/streams/hls-auth", **headers)


# --- publishing ---


def test_right_secret_for_the_right_stream_starts_and_ends_it(client, stream):
    assert nginx(client, "publish", stream.path, stream.secret).status_code == 204
    stream.refresh_from_db()
    assert stream.is_live
    session = StreamSession.objects.get(stream=stream)
    assert session.ended_at is None and session.publisher_addr == "10.0.0.5"
    assert nginx(client, "publish_done", stream.path, stream.secret).status_code == 204
    stream.refresh_from_db()
    session.refresh_from_db()
    assert not stream.is_live and session.ended_at is not None


def test_everything_else_is_refused(client, stream, tenant, host):
    other = services.enable_stream(
        actor=host, room=RoomFactory(tenant=tenant, owner=host, allow_livestreaming=True)
    )
    assert nginx(client, "publish", stream.path, "wrong").status_code == 403
    assert nginx(client, "publish", stream.path, "").status_code == 403
    assert nginx(client, "publish", stream.path, other.secret).status_code == 403  # another room's secret
    assert nginx(client, "publish", "a" * 20, stream.secret).status_code == 403  # no such stream
    assert nginx(client, "publish", "../../etc", stream.secret).status_code == 403
    assert nginx(client, "play", stream.path, stream.secret).status_code == 403  # viewers use HLS
    assert client.get("/streams/hooks/nginx-rtmp").status_code == 405
    assert not StreamSession.objects.exists()


def test_a_rotated_key_is_refused_and_the_running_publication_still_ends(client, stream, host):
    old = stream.secret
    assert nginx(client, "publish", stream.path, old, clientid="42").status_code == 204
    services.rotate_stream_key(actor=host, stream=stream)
    assert AuditEntry.objects.filter(action="stream.key_rotated", target="algebra").exists()
    # The publication that started with the old key ends by its connection (nginx names it by clientid).
    assert nginx(client, "publish_done", stream.path, old, clientid="42").status_code == 204
    assert not RoomStream.objects.get(pk=stream.pk).is_live
    assert nginx(client, "publish", stream.path, old).status_code == 403
    stream.refresh_from_db()
    assert nginx(client, "publish", stream.path, stream.secret).status_code == 204


def test_a_stranger_cannot_end_someone_elses_publication(client, stream):
    assert nginx(client, "publish", stream.path, stream.secret, clientid="42").status_code == 204
    assert nginx(client, "publish_done", stream.path, "", clientid="43").status_code == 403
    assert RoomStream.objects.get(pk=stream.pk).is_live


@pytest.mark.parametrize("change", ["allow_livestreaming", "archived"])
def test_a_room_that_may_not_stream_refuses_publishers(client, stream, room, change):
    setattr(room, change, change == "archived")
    room.save()
    assert nginx(client, "publish", stream.path, stream.secret).status_code == 403


def test_mediamtx_hook(client, stream):
    def hook(body):
        return client.post("/streams/hooks/mediamtx", json.dumps(body), content_type="application/json")

    publish = {"action": "publish", "path": f"live/{stream.path}", "protocol": "rtmp", "ip": "10.0.0.5"}
    assert hook({**publish, "query": "key=wrong"}).status_code == 403
    assert hook({**publish, "query": f"key={stream.secret}"}).status_code == 204
    assert StreamSession.objects.get(stream=stream).server == "mediamtx"
    read = {"action": "read", "path": stream.path, "protocol": "hls"}
    assert hook(read).status_code == 401
    token = passes.issue(stream.path, stream.pass_epoch)
    assert hook({**read, "query": f"pass={token}"}).status_code == 204
    assert hook({**read, "token": token}).status_code == 204
    assert hook({"action": "api", "path": stream.path}).status_code == 403
    assert client.post("/streams/hooks/mediamtx", "[", content_type="application/json").status_code == 400
    assert client.post("/streams/hooks/mediamtx", "[]", content_type="application/json").status_code == 400


# --- HLS viewing passes ---


def test_hls_needs_a_current_pass_for_that_stream(client, stream, host, tenant):
    playlist = f"/hls/{stream.path}/index.m3u8"
    token = passes.issue(stream.path, stream.pass_epoch)
    assert hls(client, playlist, token).status_code == 204
    assert hls(client, f"/hls/{stream.path}/12.ts", token).status_code == 204
    assert hls(client, playlist).status_code == 401
    assert hls(client, playlist, token[:-1] + ("A" if token[-1] != "A" else "B")).status_code == 403
    expired = passes.issue(stream.path, stream.pass_epoch, now=time.time() - 10, seconds=5)
    assert hls(client, playlist, expired).status_code == 403
    other = services.enable_stream(
        actor=host, room=RoomFactory(tenant=tenant, owner=host, allow_livestreaming=True)
    )
    assert hls(client, f"/hls/{other.path}/index.m3u8", token).status_code == 403
    # Anything but one file in one stream's folder.
    for uri in (
        f"/hls/{stream.path}/../{other.path}/index.m3u8",
        f"/hls/{stream.path}/%2e%2e/index.m3u8",
        f"/hls/{stream.path}/sub/index.m3u8",
        f"/hls/{stream.path}/index.html",
        f"/static/{stream.path}/index.m3u8",
        "",
    ):
        assert hls(client, uri, token).status_code == 403, uri
    # The pass cookie works as well as the header.
    client.cookies[passes.COOKIE] = token
    assert client.get("/streams/hls-auth", HTTP_X_ORIGINAL_URI=playlist).status_code == 204


def test_changing_who_may_watch_invalidates_the_passes(client, stream, host):
    token = passes.issue(stream.path, stream.pass_epoch)
    services.change_stream_settings(actor=host, stream=stream, audience=RoomStream.Audience.LINK)
    hooks.forget_rules()
    assert hls(client, f"/hls/{stream.path}/index.m3u8", token).status_code == 403
    services.change_stream_settings(actor=host, stream=stream, audience=RoomStream.Audience.PUBLIC)
    hooks.forget_rules()
    assert hls(client, f"/hls/{stream.path}/index.m3u8").status_code == 204  # public: the URL is enough
    assert AuditEntry.objects.filter(action="stream.settings_changed").count() == 2


# --- pages ---


def test_viewer_page_follows_the_rooms_policy(client, stream, member, outsider):
    url = "/uzh/r/algebra/live/"
    answer = signed_in(member).get(url)
    assert answer.status_code == 200
    assert b'data-testid="stream-waiting"' in answer.content
    cookie = answer.cookies[passes.COOKIE]
    assert cookie["path"] == f"/hls/{stream.path}/" and cookie["httponly"]
    assert passes.check(cookie.value, stream.path, stream.pass_epoch)
    assert signed_in(outsider).get(url).status_code == 404
    assert signed_in(outsider).get(url + "pass/").status_code == 404
    anonymous = client.get(url)
    assert anonymous.status_code == 403 and passes.COOKIE not in anonymous.cookies
    assert signed_in(member).get(url + "pass/").status_code == 204


def test_link_streams_are_open_to_anyone_with_the_link(client, stream, host):
    services.change_stream_settings(actor=host, stream=stream, audience=RoomStream.Audience.LINK)
    answer = client.get("/uzh/r/algebra/live/")
    assert answer.status_code == 200 and passes.COOKIE in answer.cookies


def test_no_stream_page_without_a_stream(client, room, member):
    assert signed_in(member).get("/uzh/r/algebra/live/").status_code == 404
    assert signed_in(member).get("/uzh/r/nothing/live/").status_code == 404


def test_the_stream_page_shows_the_next_lecture(stream, member, room, host):
    from datetime import timedelta

    from django.utils import timezone

    from meetings import services as room_services

    start = timezone.localtime(timezone.now() + timedelta(days=2), timezone.get_fixed_timezone(60))
    room_services.schedule_series(
        actor=host,
        room=room,
        title="Algebra I",
        first_date=start.date(),
        start_time=start.time().replace(second=0, microsecond=0),
        duration_minutes=90,
        count=3,
        time_zone="Europe/Zurich",
    )
    answer = signed_in(member).get("/uzh/r/algebra/live/")
    assert b'data-testid="next-lecture"' in answer.content


def test_hosts_get_the_rtmp_url_and_can_rotate_it(room, host, member, settings):
    settings.STREAM_RTMP_URL = "rtmp://media.example.org/live"
    lecturer = signed_in(host)
    page = lecturer.get("/uzh/rooms/algebra/stream/")
    assert page.status_code == 200 and b"enable-stream" in page.content
    assert lecturer.post("/uzh/rooms/algebra/stream/").status_code == 302
    stream = RoomStream.objects.get(room=room)
    assert AuditEntry.objects.filter(action="stream.enabled", target="algebra").exists()
    page = lecturer.get("/uzh/rooms/algebra/stream/")
    expected = f"rtmp://media.example.org/live/{stream.path}?key={stream.secret}"
    assert expected.encode() in page.content
    assert lecturer.post("/uzh/rooms/algebra/stream/rotate/").status_code == 302
    stream.refresh_from_db()
    assert expected.encode() not in lecturer.get("/uzh/rooms/algebra/stream/").content
    answer = lecturer.post(
        "/uzh/rooms/algebra/stream/", {"audience": "public", "offer_instead": "on", "offer_when_count": ""}
    )
    assert answer.status_code == 302
    stream.refresh_from_db()
    assert stream.audience == "public" and stream.offer_instead and stream.pass_epoch == 1
    assert lecturer.post("/uzh/rooms/algebra/stream/", {"audience": "nobody"}).status_code == 400
    # Not a host: the room is not theirs to manage.
    assert signed_in(member).get("/uzh/rooms/algebra/stream/").status_code in (403, 404)
    assert signed_in(member).post("/uzh/rooms/algebra/stream/rotate/").status_code in (403, 404)


def test_streaming_must_be_allowed_first(tenant, host):
    RoomFactory(tenant=tenant, owner=host, name="plain", allow_livestreaming=False)
    lecturer = signed_in(host)
    assert b"stream-not-allowed" in lecturer.get("/uzh/rooms/plain/stream/").content
    lecturer.post("/uzh/rooms/plain/stream/")
    assert not RoomStream.objects.exists()


def test_join_page_offers_the_stream_when_the_lecturer_chose_it(client, tenant, host):
    room = RoomFactory(tenant=tenant, owner=host, name="big", access="link", allow_livestreaming=True)
    stream = services.enable_stream(actor=host, room=room)
    assert b"watch-offer" not in client.get("/uzh/r/big/").content
    services.change_stream_settings(actor=host, stream=stream, offer_instead=True)
    assert b'href="/uzh/r/big/live/"' in client.get("/uzh/r/big/").content


def test_join_page_offers_the_stream_when_the_meeting_is_full(client, tenant, host, monkeypatch):
    from meetings.live import ShownCount
    from meetings.streams.templatetags import streams as tags

    room = RoomFactory(tenant=tenant, owner=host, name="big", access="link", allow_livestreaming=True)
    stream = services.enable_stream(actor=host, room=room)
    services.change_stream_settings(actor=host, stream=stream, offer_when_count=80)
    monkeypatch.setattr(tags, "shown_count", lambda room: ShownCount(room.name, 1, 1, 79))
    assert b"watch-offer" not in client.get("/uzh/r/big/").content
    monkeypatch.setattr(tags, "shown_count", lambda room: ShownCount(room.name, 1, 2, 80))
    assert b"watch-offer" in client.get("/uzh/r/big/").content


def test_meeting_page_gives_hosts_the_one_click_stream(stream, host, member):
    page = signed_in(host).get("/uzh/r/algebra/")
    assert page.status_code == 200
    assert b'id="stream-key"' in page.content and stream.secret.encode() in page.content
    page = signed_in(member).get("/uzh/r/algebra/")
    assert page.status_code == 200
    assert b"stream-key" not in page.content and stream.secret.encode() not in page.content
