"""Redis down, in Debian's Chromium: the room page says "live count paused" and resumes by itself with the
count that changed meanwhile (issue 12)."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.test import Client

from tests.browser_support import CHROMIUM_ARGS as ARGS
from tests.conftest import require
from tests.factories import MembershipFactory, RoomFactory, TenantFactory, UserFactory
from tests.meetings.prosody import recording
from tests.meetings.servers import daphne_servers
from tests.meetings.test_multiprocess import post_event
from tests.redis_faults import PrivateRedis

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]

SHOTS = (
    Path(os.environ.get("SHOTS_DIR", tempfile.gettempdir())) / "redisdown-shots"
)  # to look at, never committed


def test_the_page_says_paused_while_redis_is_down_and_resumes(tmp_path, chromium_path):
    require(shutil.which("redis-server") is not None, "redis-server (Debian's redis-server package)")
    require(os.environ.get("DATABASE_URL", "").startswith("postgres"), "PostgreSQL in DATABASE_URL")
    demo = TenantFactory(slug="demo", name="Demo University")
    viewer = MembershipFactory(tenant=demo, user=UserFactory(username="viewer"), role="host").user
    RoomFactory(tenant=demo, name="room1", title="Algebra", owner=viewer)
    client = Client()
    client.force_login(viewer)
    session_id = client.cookies["sessionid"].value
    secret = demo.deployment.event_secret
    redis = PrivateRedis(tmp_path)
    redis.start()
    from playwright.sync_api import expect, sync_playwright

    try:
        with daphne_servers(1, tmp_path, REDIS_URL=redis.url) as (server,), sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
            context = browser.new_context(viewport={"width": 360, "height": 640})
            context.add_cookies([{"name": "sessionid", "value": session_id, "url": server.http}])
            page = context.new_page()
            page.goto(f"{server.http}/demo/rooms/room1/")
            live = page.locator("[data-live-count]")
            number = page.locator("[data-live-count-number]")
            paused = page.locator("[data-live-count-paused]")
            expect(number).to_have_text("0", timeout=10_000)
            expect(live).to_have_attribute("data-state", "live")

            redis.stop()
            expect(live).to_have_attribute("data-state", "paused", timeout=5_000)
            expect(paused).to_have_text("live count paused")
            expect(paused).to_be_visible()
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SHOTS / "live-count-paused-360.png"), full_page=True)
            assert post_event(server.http, recording("basic-02-muc-occupant-joined.json"), secret) == 200

            redis.start()
            expect(number).to_have_text("1", timeout=5_000)  # the change made meanwhile, without a reload
            expect(live).to_have_attribute("data-state", "live")
            expect(paused).to_be_hidden()
            page.screenshot(path=str(SHOTS / "live-count-resumed-360.png"), full_page=True)
            # 360 px wide without sideways scrolling, the note included
            assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
            browser.close()
    finally:
        redis.stop()
