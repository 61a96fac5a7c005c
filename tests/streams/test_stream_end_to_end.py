"""A real stream from ffmpeg through Debian's nginx-rtmp (configured from portal/deploy) to Chromium, with the
portal as the authority: publish callbacks, HLS viewing checks (auth_request), the viewer page's websocket.

Chromium: Debian's build decodes H.264/AAC through Media Source Extensions, which hls.js uses (the test checks
`MediaSource.isTypeSupported` first, so a build without H.264 fails with that reason)."""

from __future__ import annotations

import os
import re
import time
import urllib.error
import urllib.request

import pytest
from django.db import connection
from django.test import Client

from meetings.streams import services
from meetings.streams.models import RoomStream, StreamSession
from tests.browser_support import CHROMIUM_ARGS
from tests.conftest import require
from tests.factories import MembershipFactory, RoomFactory, TenantFactory, UserFactory
from tests.meetings.servers import free_port, start_server, stop_server
from tests.streams.media import have_media_tools, media_server, publish, refused

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

H264_AAC = "MediaSource.isTypeSupported('video/mp4; codecs=\"avc1.42c01e,mp4a.40.2\"')"


def fetch(url: str, cookie: str = "") -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as error:
        return error.code, ""


def session(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


def current_time(page) -> float:
    return float(page.evaluate("document.querySelector('video').currentTime"))


def wait_for_progress(page, seconds: float = 1.5, timeout: float = 15) -> None:
    """The video's currentTime advances (polled: the page's CSP forbids wait_for_function's eval)."""
    first, deadline = current_time(page), time.monotonic() + timeout
    while current_time(page) < first + seconds:
        assert time.monotonic() < deadline, "the video does not advance"
        page.wait_for_timeout(200)


def test_publish_watch_refuse_and_count(tmp_path, chromium_path, monkeypatch):
    require(have_media_tools(), "Debian's nginx with libnginx-mod-rtmp, and ffmpeg")
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL")
    tenant = TenantFactory(slug="demo")
    host = MembershipFactory(tenant=tenant, user=UserFactory(username="lecturer"), role="host").user
    student = MembershipFactory(tenant=tenant, user=UserFactory(username="student")).user
    stranger = MembershipFactory(
        tenant=TenantFactory(slug="other"), user=UserFactory(username="stranger")
    ).user
    room = RoomFactory(tenant=tenant, name="algebra", title="Algebra", owner=host, allow_livestreaming=True)
    stream = services.enable_stream(actor=host, room=room)
    other_room = RoomFactory(tenant=tenant, name="other", owner=host, allow_livestreaming=True)
    other_stream = services.enable_stream(actor=host, room=other_room)
    cookies = {"host": session(host), "student": session(student), "stranger": session(stranger)}

    portal_port = free_port()
    with media_server(tmp_path / "nginx", portal_port=portal_port) as media:
        server = start_server(
            portal_port, tmp_path / "daphne.log", STREAM_RTMP_URL=media.rtmp, STREAM_RULES_SECONDS="0"
        )
        try:
            # The host's page hands out the RTMP URL.
            status, page_html = fetch(f"{media.http}/demo/rooms/algebra/stream/", cookies["host"])
            assert status == 200
            found = re.search(r'id="rtmp-url" value="([^"]+)"', page_html)
            assert found is not None
            rtmp_url = found[1].replace("&amp;", "&")
            assert rtmp_url.startswith(f"{media.rtmp}/{stream.path}?key=")

            # A wrong secret, or another stream's, is refused by the portal and nginx drops ffmpeg.
            assert refused(rtmp_url.split("?key=")[0] + "?key=not-the-secret")[0]
            assert refused(f"{media.rtmp}/{stream.path}?key={other_stream.secret}")[0]
            assert not StreamSession.objects.exists()

            from playwright.sync_api import expect, sync_playwright

            # Playwright's sync API runs an event loop in this thread; the ORM calls below are plain sync.
            monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
            with sync_playwright() as p:
                args = [*CHROMIUM_ARGS, "--autoplay-policy=no-user-gesture-required"]
                browser = p.chromium.launch(executable_path=chromium_path, args=args)
                viewer = browser.new_context(viewport={"width": 360, "height": 740})
                viewer.add_cookies(
                    [{"name": "sessionid", "value": cookies["student"].split("=", 1)[1], "url": media.http}]
                )
                page = viewer.new_page()
                page.goto(f"{media.http}/demo/r/algebra/live/")
                assert page.evaluate(H264_AAC), "this Chromium cannot decode H.264/AAC through MSE"
                expect(page.get_by_test_id("stream-waiting")).to_be_visible()
                expect(page.get_by_test_id("watching")).to_have_attribute("data-count", "1", timeout=5_000)
                expect(page.get_by_test_id("participants")).to_have_attribute("data-count", "0")
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
                navigations: list[str] = []
                page.on("framenavigated", lambda frame: navigations.append(frame.url))

                ffmpeg = publish(rtmp_url, log=tmp_path / "ffmpeg.log")
                try:
                    stream_box = page.get_by_test_id("stream")
                    expect(stream_box).to_have_attribute("data-state", "playing", timeout=30_000)
                    wait_for_progress(page)
                    assert navigations == []  # started without a reload
                    assert RoomStream.objects.get(pk=stream.pk).is_live
                    assert StreamSession.objects.filter(stream=stream, ended_at__isnull=True).count() == 1

                    # The playlist and a segment: refused without the viewer's pass, to an outsider too.
                    viewer_pass = next(c for c in viewer.cookies() if c["name"] == "auditorium_stream")[
                        "value"
                    ]
                    playlist = f"{media.http}/hls/{stream.path}/index.m3u8"
                    status, text = fetch(playlist, f"auditorium_stream={viewer_pass}")
                    assert status == 200 and "#EXTM3U" in text
                    segment_name = next(line for line in text.splitlines() if line.endswith(".ts"))
                    segment = f"{media.http}/hls/{stream.path}/{segment_name}"
                    assert fetch(segment, f"auditorium_stream={viewer_pass}")[0] == 200
                    for url in (playlist, segment):
                        assert fetch(url)[0] == 401
                        assert fetch(url, cookies["stranger"])[0] == 401
                        assert fetch(url, cookies["student"])[0] == 401  # the session alone is no pass
                        assert fetch(url, "auditorium_stream=" + viewer_pass[:-2] + "xx")[0] == 403
                    other_playlist = f"{media.http}/hls/{other_stream.path}/index.m3u8"
                    assert fetch(other_playlist, f"auditorium_stream={viewer_pass}")[0] == 403
                    # The outsider cannot get a pass: the viewer page is not theirs to see.
                    assert fetch(f"{media.http}/demo/r/algebra/live/", cookies["stranger"])[0] == 404
                    assert fetch(f"{media.http}/demo/r/algebra/live/pass/", cookies["stranger"])[0] == 404

                    # A second viewer counts, and stops counting when gone.
                    second = browser.new_context()
                    second.add_cookies(
                        [{"name": "sessionid", "value": cookies["host"].split("=", 1)[1], "url": media.http}]
                    )
                    second.new_page().goto(f"{media.http}/demo/r/algebra/live/")
                    watching = page.get_by_test_id("watching")
                    expect(watching).to_have_attribute("data-count", "2", timeout=5_000)
                    second.close()
                    expect(watching).to_have_attribute("data-count", "1", timeout=5_000)

                    # A rotated key refuses the old URL from the next publication on.
                    services.rotate_stream_key(actor=host, stream=stream)
                finally:
                    ffmpeg.terminate()
                    ffmpeg.wait(timeout=10)
                # The end of the publication reaches the page, although the key changed meanwhile.
                expect(page.get_by_test_id("stream")).to_have_attribute(
                    "data-state", "waiting", timeout=15_000
                )
                assert not RoomStream.objects.get(pk=stream.pk).is_live
                assert refused(rtmp_url)[0]
                browser.close()
                # The ORM calls above ran in the context of Playwright's loop, which got its own connection.
                connection.close()
        finally:
            stop_server(server)
