"""Joining in a real browser. Jitsi is not reachable offline, so external_api.js is answered by a stub that
records what the page hands to JitsiMeetExternalAPI; the recorded jwt is then checked with pyjwt."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest
from django.utils import timezone

from meetings import schedule
from meetings.models import Room
from tests.browser_support import CHROMIUM_ARGS as ARGS
from tests.factories import RoomFactory
from tests.meetings.join_helpers import verify_for_room

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


STUB = """
window.__jitsiCalls = [];
window.JitsiMeetExternalAPI = function (domain, options) {
  var copy = Object.assign({}, options, {parentNode: options.parentNode ? options.parentNode.id : null});
  window.__jitsiCalls.push({domain: domain, options: copy});
  var frame = document.createElement("iframe");
  frame.id = "jitsi-frame";
  options.parentNode.appendChild(frame);
  this.addListener = function () {};
};
"""


def _stub_jitsi(context, requested: list[str]) -> None:
    def answer(route) -> None:
        requested.append(route.request.url)
        route.fulfill(status=200, content_type="application/javascript", body=STUB)

    context.route("**/external_api.js", answer)


def test_member_and_guest_join_in_browser(live_server, client, tenant, host, member, chromium_path):
    from playwright.sync_api import sync_playwright

    lecture = RoomFactory(tenant=tenant, owner=host, name="algebra-7q3", title="Linear Algebra")
    open_room = RoomFactory(tenant=tenant, owner=host, name="office-hours", access=Room.Access.LINK)
    client.force_login(member)
    session = client.cookies["sessionid"].value
    base = live_server.url.replace("127.0.0.1", "localhost")
    requested: list[str] = []

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's sync API runs a loop in this thread
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
            signed_in = browser.new_context()
            _stub_jitsi(signed_in, requested)
            signed_in.add_cookies([{"name": "sessionid", "value": session, "url": base}])
            page = signed_in.new_page()
            page.goto(f"{base}/uzh/r/{lecture.name}/")
            page.wait_for_selector("#jitsi-frame", state="attached")
            member_call = page.evaluate("window.__jitsiCalls[0]")
            assert page.locator("[data-testid=meeting-title]").inner_text() == "Linear Algebra"

            guest = browser.new_context()
            _stub_jitsi(guest, requested)
            guest_page = guest.new_page()
            guest_page.goto(f"{base}/uzh/r/{open_room.name}/")
            guest_page.fill("[data-testid=display-name]", "Grace Hopper")
            guest_page.click("[data-testid=join-button]")
            guest_page.wait_for_selector("#jitsi-frame", state="attached")
            guest_call = guest_page.evaluate("window.__jitsiCalls[0]")
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)

    assert requested == ["https://meet.uzh.example.org/external_api.js"] * 2
    assert member_call["domain"] == "meet.uzh.example.org"
    assert member_call["options"]["roomName"] == "algebra-7q3"
    assert member_call["options"]["parentNode"] == "meeting"
    claims = verify_for_room(member_call["options"]["jwt"], lecture)
    assert claims["context"]["user"]["id"] == str(member.public_id)
    assert claims["context"]["user"]["moderator"] is False

    assert guest_call["options"]["roomName"] == "office-hours"
    assert guest_call["options"]["userInfo"]["displayName"] == "Grace Hopper"
    guest_claims = verify_for_room(guest_call["options"]["jwt"], open_room)
    assert guest_claims["context"]["user"]["name"] == "Grace Hopper"
    assert guest_claims["context"]["user"]["affiliation"] == "member"
    assert json.dumps(guest_claims)  # plain JSON all the way


def test_countdown_before_the_window(live_server, client, tenant, host, member, chromium_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    opens_at = timezone.now() + timedelta(seconds=100)
    monkeypatch.setattr(
        schedule, "join_window", lambda room, now: schedule.JoinWindow(is_open=False, opens_at=opens_at)
    )
    lecture = RoomFactory(tenant=tenant, owner=host, name="late-lecture")
    client.force_login(member)
    session = client.cookies["sessionid"].value
    base = live_server.url.replace("127.0.0.1", "localhost")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
            page = context.new_page()
            page.goto(f"{base}/uzh/r/{lecture.name}/")
            countdown = page.locator("[data-testid=countdown]")
            page.wait_for_function(
                "document.querySelector('[data-countdown]').textContent.includes('seconds')"
            )
            first = countdown.inner_text()
            page.wait_for_timeout(1200)
            second = countdown.inner_text()
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    # In words, not a clock ("78:37:17"): seconds only in the last two minutes.
    assert first.startswith("Opens in 9") and first.endswith("seconds"), first
    assert first != second  # it counts
