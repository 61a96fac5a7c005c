"""Every page of a lecturer, a student and an anonymous visitor (and the meeting page) at 390 and 1280 px:
no sideways scrolling, axe-core without violations of any impact, no console errors. Screenshots of each
land in test-artifacts/pages/ (git-ignored) to be looked at. And the lecturer's natural path: a weekly
lecture series created and its link copied in at most 4 clicks from the home page."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from django.utils import timezone

from meetings import academic, services
from meetings.models import LectureSeries, Room
from tests.browser_support import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"  # as page_checks.py
SHOTS = ARTIFACTS / "pages"
WIDTHS = (390, 1280)


# Jitsi's external_api.js from a deployment that does not exist here: a stub that draws the iframe.
STUB = """
window.JitsiMeetExternalAPI = function (domain, options) {
  var frame = document.createElement("iframe");
  frame.title = "Jitsi Meet";
  options.parentNode.appendChild(frame);
  this.addListener = function () {};
};
"""


def new_context(browser: Any, width: int) -> Any:
    context = browser.new_context(
        viewport={"width": width, "height": 844 if width < 600 else 900}, locale="en-GB"
    )
    context.set_default_timeout(15_000)
    context.route(
        "**/external_api.js",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=STUB),
    )
    return context


def session_of(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return client.cookies["sessionid"].value


def check_page(context: Any, url: str, name: str, width: int) -> list[str]:
    """Open `url`; the problems found (sideways scroll, axe violations, console errors)."""
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        page.goto(url)
        page.wait_for_load_state("networkidle")
        problems = []
        scroll = page.evaluate("document.documentElement.scrollWidth")
        if scroll != width:
            problems.append(f"{name}@{width}: scrollWidth {scroll}")
        # Through CDP, so the page's strict CSP (no inline script) does not refuse it.
        page.evaluate(AXE.read_text())
        violations = page.evaluate(
            "axe.run(document, {resultTypes: ['violations']}).then(r => r.violations.map("
            "v => v.id + ' ' + v.impact + ': ' + v.nodes.map(n => n.target.join(' ')).join(', ')))"
        )
        problems += [f"{name}@{width}: axe {v}" for v in violations]
        # live_server speaks HTTP only: the live counts' websockets are refused here (they are tested over a
        # real ASGI server in tests/meetings); every other console error counts.
        problems += [f"{name}@{width}: console {e}" for e in errors if "WebSocket connection" not in e]
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}-{width}.png"), full_page=True)
        return problems
    finally:
        page.close()


@pytest.fixture
def world(tenant, host, member):
    """A lecturer with rooms (two with one title), a weekly series across Christmas, a holiday."""
    today = timezone.localdate()
    academic.add_academic_period(
        actor=host,
        tenant=tenant,
        kind="holiday",
        title="Christmas break",
        first_day=date(today.year, 12, 21),
        last_day=date(today.year + 1, 1, 3),
    )
    algebra = services.create_room(actor=host, tenant=tenant, title="Algebra I", access=Room.Access.TENANT)
    services.create_room(actor=host, tenant=tenant, title="Office hours", access=Room.Access.LINK)
    services.create_room(actor=host, tenant=tenant, title="Office hours", access=Room.Access.INVITE)
    coded = services.create_room(
        actor=host, tenant=tenant, title="Seminar", access=Room.Access.LINK, access_code="4711"
    )
    series = services.schedule_series(
        actor=host,
        room=algebra,
        title="Algebra I",
        first_date=today,
        start_time=time(23, 30),
        duration_minutes=25,
        interval_weeks=1,
        weekdays=[],
        until=None,
        count=12,
        time_zone="Europe/Zurich",
        join_opens_minutes=15,
        grace_minutes=0,
    )
    later = services.create_room(actor=host, tenant=tenant, title="Number theory", access=Room.Access.TENANT)
    services.schedule_series(
        actor=host,
        room=later,
        title="Number theory",
        first_date=today + timedelta(days=3),
        start_time=time(10, 15),
        duration_minutes=90,
        interval_weeks=1,
        weekdays=[],
        until=None,
        count=8,
        time_zone="Europe/Zurich",
        join_opens_minutes=15,
        grace_minutes=15,
    )
    services.follow_series(actor=member, series=series)
    return {"algebra": algebra, "series": series, "coded": coded, "later": later}


@override_settings(ANONYMOUS_TENANT="uzh")
def test_every_page_fits_a_phone_and_passes_axe(
    live_server, browser, tenant, host, member, admin_user, world
):
    base = live_server.url.replace("127.0.0.1", "localhost")
    algebra, series, later = world["algebra"], world["series"], world["later"]
    anonymous_room = None
    from meetings import anonymous

    anonymous_room = anonymous.create_anonymous_room(tenant=tenant, now=timezone.now())
    lecture_key = next(iter(series.changes.all())).original_start.strftime("%Y%m%dT%H%M%SZ")
    pages = {
        "lecturer": [
            ("lecturer-home", "/uzh/"),
            ("room-list", "/uzh/rooms/"),
            ("room-new", "/uzh/rooms/new/"),
            ("room-page", f"/uzh/rooms/{algebra.name}/"),
            ("room-settings", f"/uzh/rooms/{algebra.name}/edit/"),
            ("room-share", f"/uzh/rooms/{algebra.name}/share/"),
            ("room-people", f"/uzh/rooms/{algebra.name}/people/"),
            ("room-transfer", f"/uzh/rooms/{algebra.name}/transfer/"),
            ("room-archive", f"/uzh/rooms/{algebra.name}/archive/"),
            ("series-new", f"/uzh/rooms/{algebra.name}/series/new/"),
            ("series-page", f"/uzh/rooms/{algebra.name}/series/{series.code}/"),
            ("series-edit", f"/uzh/rooms/{algebra.name}/series/{series.code}/edit/"),
            ("series-delete", f"/uzh/rooms/{algebra.name}/series/{series.code}/delete/"),
            ("lecture-move", f"/uzh/rooms/{algebra.name}/series/{series.code}/lectures/{lecture_key}/move/"),
            (
                "lecture-cancel",
                f"/uzh/rooms/{algebra.name}/series/{series.code}/lectures/{lecture_key}/cancel/",
            ),
            ("lecturer-lectures", "/uzh/lectures/"),
            ("lecturer-meeting", f"/uzh/r/{algebra.name}/"),
        ],
        "student": [
            ("student-home", "/uzh/"),
            ("student-lectures", "/uzh/lectures/"),
            ("student-not-open", f"/uzh/r/{later.name}/"),
        ],
        "admin": [("academic-calendar", "/uzh/manage/calendar/")],
        "anonymous": [
            ("landing", "/"),
            ("anonymous-tenant-home", "/uzh/"),
            ("anonymous-new", "/new/"),
            ("guest-join", f"/uzh/r/{world['coded'].name}/"),
            ("anonymous-meeting", f"/new/{anonymous_room.name}/"),
        ],
    }
    sessions = {
        "lecturer": session_of(host),
        "student": session_of(member),
        "admin": session_of(admin_user),
        "anonymous": None,
    }
    problems: list[str] = []
    for actor, urls in pages.items():
        for width in WIDTHS:
            context = new_context(browser, width)
            if sessions[actor]:
                context.add_cookies([{"name": "sessionid", "value": sessions[actor], "url": base}])
            if actor == "anonymous":
                # The anonymous meeting's creator has a name in the session: start it through /new/.
                starter = context.new_page()
                starter.goto(f"{base}/new/")
                starter.fill("#id_display_name", "Visitor")
                starter.click("[data-testid=start-button]")
                starter.wait_for_load_state()
                urls = [*urls, ("anonymous-own-meeting", starter.url.replace(base, ""))]
                starter.close()
            for name, path in urls:
                problems += check_page(context, base + path, name, width)
            context.close()
    (SHOTS / "problems.txt").write_text("\n".join(problems))
    assert problems == []


def test_weekly_series_and_its_link_in_four_clicks(live_server, browser, tenant, host):
    """Home → New room → tick weekly → Create room → Copy link: 4 clicks, typing aside."""
    from playwright.sync_api import expect

    base = live_server.url.replace("127.0.0.1", "localhost")
    context = new_context(browser, 1280)
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
    context.add_cookies([{"name": "sessionid", "value": session_of(host), "url": base}])
    page = context.new_page()
    clicks = 0

    def click(selector: str) -> None:
        nonlocal clicks
        clicks += 1
        page.click(selector)

    page.goto(f"{base}/uzh/")
    click("[data-testid=home-new-room]")
    page.fill("#id_title", "Contract Law")
    click("#id_weekly")
    first = date.today() + timedelta(days=2)
    page.fill("#id_series-first_date", first.isoformat())
    page.fill("#id_series-start_time", "10:15")
    page.fill("#id_series-count", "12")
    expect(page.locator("[data-preview-dates] li")).to_have_count(12)  # the live preview
    click("[data-testid=room-submit]")
    page.wait_for_selector("[data-testid=share-panel]")
    click("[data-testid=copy-link]")
    expect(page.locator("#copy-status")).to_have_text("Link copied.")
    copied = page.evaluate("navigator.clipboard.readText()")
    context.close()

    assert clicks <= 4
    room = Room.objects.get(tenant=tenant, title="Contract Law")
    assert copied == f"{base}{room.join_path}"
    series = LectureSeries.objects.get(room=room)
    assert (series.first_date, series.count, series.start_time) == (first, 12, time(10, 15))
    assert series.time_zone == tenant.time_zone  # the picker defaults to the institution's zone
