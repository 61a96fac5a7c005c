"""A lecturer creates a room and a weekly series in Chromium, copies the link; a student sees the lecture."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client

from meetings.models import LectureSeries, Room
from tests.browser_support import CHROMIUM_ARGS as ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def session_of(user) -> str:
    # One client per person: logging a second person into the same client would end the first session.
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def test_lecturer_creates_room_and_series_student_sees_lecture(
    live_server, tenant, host, member, chromium_path
):
    from playwright.sync_api import expect, sync_playwright

    # Chromium keeps the clipboard API to secure contexts: http://localhost is one, 127.0.0.1 may not be.
    base = live_server.url.replace("127.0.0.1", "localhost")
    lecturer_session = session_of(host)
    student_session = session_of(member)
    tomorrow = date.today() + timedelta(days=1)

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
        try:
            lecturer = browser.new_context()
            lecturer.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            lecturer.add_cookies([{"name": "sessionid", "value": lecturer_session, "url": base}])
            page = lecturer.new_page()

            page.goto(f"{base}/uzh/rooms/")
            page.click("[data-testid=new-room]")
            page.fill("#id_title", "Constitutional Law")
            page.check("#id_access_0")  # members of the institution
            page.click("[data-testid=room-form] button[type=submit]")
            page.wait_for_selector("[data-testid=share-panel]")  # lands on the room, its share panel open

            # No ORM in this block: Playwright's greenlet would open a connection that is never closed.
            name = page.url.rstrip("/").split("/")[-1]
            expected = f"{base}/uzh/r/{name}/"
            assert page.input_value("[data-testid=join-url]") == expected
            assert page.locator("[data-testid=qr-code] svg").count() == 1
            page.click("[data-testid=copy-link]")
            expect(page.locator("#copy-status")).not_to_be_empty()
            assert page.evaluate("navigator.clipboard.readText()") == expected

            page.goto(f"{base}/uzh/rooms/{name}/")
            page.click("[data-testid=new-series]")
            page.fill("#id_first_date", tomorrow.isoformat())
            page.fill("#id_start_time", "10:15")
            page.fill("#id_duration_minutes", "90")
            page.fill("#id_count", "6")
            page.click("[data-testid=series-form] button[type=submit]")
            page.wait_for_selector("[data-testid=lectures]")
            assert page.locator("[data-testid=lectures] tr[data-lecture]").count() == 6

            student = browser.new_context()
            student.add_cookies([{"name": "sessionid", "value": student_session, "url": base}])
            spage = student.new_page()
            spage.goto(f"{base}/uzh/lectures/")
            lectures = spage.locator("[data-testid=upcoming-lectures] li")
            assert lectures.count() == 2  # tomorrow and a week later, within the next 14 days
            first = lectures.first
            assert "Constitutional Law" in first.inner_text()
            assert "10:15" in first.inner_text()
            assert first.locator("a", has_text="Join").get_attribute("href") == f"/uzh/r/{name}/"
        finally:
            browser.close()

    room = Room.objects.get(tenant=tenant, name=name)
    assert (room.title, room.owner, room.access) == ("Constitutional Law", host, Room.Access.TENANT)
    series = LectureSeries.objects.get(room=room)
    assert (series.first_date, series.count, series.weekdays) == (tomorrow, 6, [])
