"""The stream pages at phone width in Chromium (WSGI live server: no websockets here, see tests/streams): no
sideways scrolling, the waiting state with the next lecture, and axe-core (tests/browser/vendor, or AXE_JS)
with zero accessibility violations."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import Client
from django.utils import timezone

from meetings import services as room_services
from meetings.streams import services
from tests.browser_support import CHROMIUM_ARGS as ARGS
from tests.factories import RoomFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE_JS = os.environ.get("AXE_JS", str(Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"))


def session_of(user) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_stream_pages_fit_a_phone(live_server, tenant, host, member, chromium_path, tmp_path):
    room = RoomFactory(
        tenant=tenant,
        owner=host,
        name="algebra",
        title="Linear Algebra for Engineers",
        allow_livestreaming=True,
    )
    services.enable_stream(actor=host, room=room)
    start = timezone.now() + timedelta(days=1)
    room_services.schedule_series(
        actor=host,
        room=room,
        title="Algebra",
        first_date=start.date(),
        start_time=start.time().replace(second=0, microsecond=0),
        duration_minutes=90,
        count=2,
        time_zone="Europe/Zurich",
    )
    base = live_server.url.replace("127.0.0.1", "localhost")
    pages = [
        (member, "/uzh/r/algebra/live/", "stream-waiting"),
        (host, "/uzh/rooms/algebra/stream/", "rtmp-url"),
    ]
    sessions = {user.pk: session_of(user) for user, _, _ in pages}
    shots = Path(os.environ.get("STREAM_SHOTS", tmp_path))
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
        try:
            for user, path, testid in pages:
                context = browser.new_context(viewport={"width": 360, "height": 740}, locale="en-GB")
                context.add_cookies([{"name": "sessionid", "value": sessions[user.pk], "url": base}])
                page = context.new_page()
                page.goto(base + path)
                expect(page.get_by_test_id(testid)).to_be_visible()
                if testid == "stream-waiting":
                    expect(page.get_by_test_id("next-lecture")).to_be_visible()
                assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
                page.screenshot(path=str(shots / f"stream{path.replace('/', '-')}.png"), full_page=True)
                if AXE_JS:
                    page.evaluate(Path(AXE_JS).read_text())  # evaluated by the tool: the page's CSP stays on
                    found = page.evaluate("axe.run().then(r => r.violations.map(v => v.id + ': ' + v.help))")
                    assert found == [], (path, found)
                context.close()
        finally:
            browser.close()
