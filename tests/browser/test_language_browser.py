"""Languages in Chromium: edu-ID's preferredLanguage at sign-in, the header's switcher, Jitsi's language,
and a guest's browser language. The development IdP signs people in against a live server (test_login.py)."""

from __future__ import annotations

from typing import Any

import pytest

from meetings.models import Room
from tenants.dev_idp import idp as dev_idp
from tenants.models import Tenant, User
from tests.browser.test_join_browser import STUB
from tests.browser.test_login import dev_site  # noqa: F401  (the fixture)
from tests.factories import RoomFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def french_student(monkeypatch: pytest.MonkeyPatch) -> None:
    """The development IdP releases preferredLanguage `fr` for its student (as edu-ID would)."""
    plain = dev_idp.DevUser.attributes

    def attributes(self: dev_idp.DevUser) -> dict[str, list[str]]:
        found = plain(self)
        if self.username == "student":
            found["preferredLanguage"] = ["fr"]
        return found

    monkeypatch.setattr(dev_idp.DevUser, "attributes", attributes)


def sign_in_as_student(page: Any, site: str) -> None:
    # By address, not by link text: the text is in whichever language the page is.
    page.locator("a[href^='/saml2/login/']").click()
    page.wait_for_url(f"{site}/dev-idp/sso/**")
    page.get_by_test_id("dev-idp-student").click()
    page.wait_for_url(f"{site}/demo/")


def test_student_signs_in_in_french_switches_to_italian_and_keeps_it(
    dev_site: str,  # noqa: F811
    french_student: None,
    page: Any,
    transactional_db: Any,
) -> None:
    from playwright.sync_api import expect

    tenant = Tenant.objects.get(slug="demo")
    room = RoomFactory(
        tenant=tenant, owner=UserFactory(), name="ling-4k2", title="Linguistics", access=Room.Access.LINK
    )
    page.context.route(
        "**/external_api.js",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=STUB),
    )
    page.goto(f"{dev_site}/demo/")
    expect(page.locator("html")).to_have_attribute("lang", "en")  # the context's en-GB browser
    sign_in_as_student(page, dev_site)
    expect(page.locator("html")).to_have_attribute("lang", "fr")
    expect(page.get_by_test_id("language-fr")).to_have_attribute("aria-current", "true")

    page.get_by_test_id("language-it").click()
    page.wait_for_url(f"{dev_site}/demo/")
    expect(page.locator("html")).to_have_attribute("lang", "it")
    expect(page.get_by_test_id("language-it")).to_have_attribute("aria-current", "true")
    assert User.objects.get(display_name="Sam Student").interface_language == "it"
    page.goto(f"{dev_site}/demo/lectures/")
    expect(page.locator("html")).to_have_attribute("lang", "it")
    page.set_viewport_size({"width": 360, "height": 740})  # the signed-in header still fits a phone
    for path in ("/demo/", "/demo/lectures/"):
        page.goto(f"{dev_site}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 360, path
    page.set_viewport_size({"width": 1280, "height": 800})

    # Signing out and in again (the IdP still says French): Italian stays.
    page.locator("form[action='/accounts/logout/'] button").click()
    page.wait_for_url(f"{dev_site}/")
    page.context.clear_cookies()  # a fresh browser, too: the profile remembers
    page.goto(f"{dev_site}/demo/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    sign_in_as_student(page, dev_site)
    expect(page.locator("html")).to_have_attribute("lang", "it")

    # The meeting opens in Italian too.
    page.goto(f"{dev_site}/demo/r/{room.name}/")
    page.wait_for_selector("#jitsi-frame", state="attached")
    expect(page.get_by_test_id("meeting")).to_have_attribute("data-lang", "it")
    options = page.evaluate("window.__jitsiCalls[0].options")
    assert options["lang"] == "it"
    assert options["configOverwrite"]["defaultLanguage"] == "it"


def test_guest_with_a_swiss_german_browser_sees_german(
    dev_site: str,  # noqa: F811
    browser: Any,
    transactional_db: Any,
) -> None:
    from playwright.sync_api import expect

    tenant = Tenant.objects.get(slug="demo")
    room = RoomFactory(tenant=tenant, owner=UserFactory(), name="open-9x1", access=Room.Access.LINK)
    context = browser.new_context(locale="de-CH", viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        page.goto(f"{dev_site}/demo/r/{room.name}/")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.get_by_test_id("language-de")).to_have_attribute("aria-current", "true")
        # The header with its switcher fits a 360 px screen.
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
        # A guest's switch is remembered in the cookie alone.
        page.get_by_test_id("language-fr").click()
        page.wait_for_url(f"{dev_site}/demo/r/{room.name}/")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
        page.goto(f"{dev_site}/demo/")
        expect(page.locator("html")).to_have_attribute("lang", "fr")
    finally:
        context.close()


def test_countdown_speaks_the_page_language(
    dev_site: str,  # noqa: F811
    browser: Any,
    transactional_db: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Hours ahead, the countdown is written by the browser's Intl in the page's language, not in English."""
    from datetime import timedelta

    from django.utils import timezone
    from playwright.sync_api import expect

    from meetings import schedule

    opens_at = timezone.now() + timedelta(hours=2, minutes=5, seconds=30)
    monkeypatch.setattr(
        schedule, "join_window", lambda room, now: schedule.JoinWindow(is_open=False, opens_at=opens_at)
    )
    room = RoomFactory(tenant=Tenant.objects.get(slug="demo"), owner=UserFactory(), name="later-3b8")
    context = browser.new_context(locale="de-CH")
    try:
        page = context.new_page()
        page.goto(f"{dev_site}/demo/r/{room.name}/")
        page.locator("a[href^='/saml2/login/']").first.click()
        page.wait_for_url(f"{dev_site}/dev-idp/sso/**")
        page.get_by_test_id("dev-idp-student").click()
        page.wait_for_url(f"{dev_site}/demo/r/{room.name}/")
        expect(page.locator("html")).to_have_attribute("lang", "en")  # the dev IdP's preferredLanguage
        page.get_by_test_id("language-de").click()
        page.wait_for_url(f"{dev_site}/demo/r/{room.name}/")
        expect(page.locator("html")).to_have_attribute("lang", "de")
        expect(page.get_by_test_id("countdown")).to_contain_text("in 2 Stunden")
        expect(page.get_by_test_id("opens-at")).to_contain_text(
            f"{timezone.localtime(opens_at):%H:%M}"  # 24-hour clock, in Zurich like the demo tenant
        )
    finally:
        context.close()
