"""Live counts in Debian's Chromium on the lecturer's real room page: the number changes without reload, and
comes back after the server restarts (reconnect with backoff)."""

from __future__ import annotations

import os

import pytest
from django.test import Client

from tests.browser_support import CHROMIUM_ARGS as ARGS
from tests.conftest import require
from tests.factories import MembershipFactory, RoomFactory, TenantFactory, UserFactory
from tests.meetings.prosody import recording
from tests.meetings.servers import free_port, start_server, stop_server
from tests.meetings.test_multiprocess import post_event

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def test_count_updates_without_reload_and_survives_a_restart(tmp_path, chromium_path):
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL")
    demo = TenantFactory(slug="demo", name="Demo University")
    viewer = MembershipFactory(tenant=demo, user=UserFactory(username="viewer"), role="host").user
    RoomFactory(tenant=demo, name="room1", title="Algebra", owner=viewer)
    client = Client()
    client.force_login(viewer)
    session_id = client.cookies["sessionid"].value
    secret = demo.deployment.event_secret
    env: dict[str, str] = {}
    port = free_port()
    server = start_server(port, tmp_path / "daphne.log", **env)
    from playwright.sync_api import expect, sync_playwright

    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session_id, "url": server.http}])
            page = context.new_page()
            page.goto(f"{server.http}/demo/rooms/room1/")
            expect(page.locator("[data-testid=room-title]")).to_have_text("Algebra")
            number = page.locator("[data-live-count-number]")
            expect(number).to_have_text("0", timeout=10_000)
            expect(page.locator("[data-live-count]")).to_have_attribute("data-state", "live")
            navigations: list[str] = []
            page.on("framenavigated", lambda frame: navigations.append(frame.url))

            assert post_event(server.http, recording("basic-02-muc-occupant-joined.json"), secret) == 200
            expect(number).to_have_text("1", timeout=5_000)
            assert post_event(server.http, recording("basic-03-muc-occupant-joined.json"), secret) == 200
            expect(number).to_have_text("2", timeout=5_000)

            stop_server(server)
            expect(page.locator("[data-live-count]")).to_have_attribute("data-state", "reconnecting")
            server = start_server(port, tmp_path / "daphne.log", **env)
            # A change made while the page was cut off shows once it is back.
            assert post_event(server.http, recording("basic-04-muc-occupant-left.json"), secret) == 200
            expect(number).to_have_text("1", timeout=20_000)
            expect(page.locator("[data-live-count]")).to_have_attribute("data-state", "live")
            assert navigations == []  # never reloaded
            browser.close()
    finally:
        stop_server(server)
