"""The discovery page in Chromium at a phone's width: the search field filters the list as one types, Enter
with one institution left goes there, and the strict Content-Security-Policy sees no violation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.test_csp_browser import RECORD
from tests.tenants import test_saml_signin as signin
from tests.tenants.discovery_world import EPFL_IDP, named_metadata

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

saml_world = signin.saml_world
saml = signin.saml


def test_search_filters_the_list_at_360_px_without_policy_violations(
    browser: Any, live_server: Any, saml: Any, settings: Any, tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    settings.SAML_METADATA_FILES = named_metadata(saml, tmp_path)
    base = live_server.url.replace("127.0.0.1", "localhost")
    context = browser.new_context(locale="en-GB", viewport={"width": 360, "height": 740})
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD)
    # The IdP's sign-in page, answered here (the test network has no IdP).
    context.route("https://idp.epfl.example.org/**", lambda route: route.fulfill(status=200, body="EPFL IdP"))
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    try:
        response = page.goto(f"{base}/saml2/login/?next=/")
        assert response is not None and response.status == 200
        assert "default-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("load")  # idp-filter.js is deferred: bound by then
        choices = page.get_by_test_id("idp-choice")
        expect(choices).to_have_count(3)
        for index in range(3):
            expect(choices.nth(index)).to_be_visible()
        # The page fits the phone's width: nothing scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= 360

        search = page.get_by_test_id("idp-filter")
        search.fill("zur")
        expect(page.locator("#idp-list li:visible")).to_have_count(1)
        expect(page.locator("#idp-list li:visible")).to_contain_text("University of Zurich")
        search.fill("ZÜRICH")  # case and accents do not matter
        expect(page.locator("#idp-list li:visible")).to_have_count(1)
        search.fill("nothing like this")
        expect(page.locator("#idp-list li:visible")).to_have_count(0)
        expect(page.get_by_test_id("idp-none")).to_be_visible()
        search.fill("")
        expect(page.locator("#idp-list li:visible")).to_have_count(3)
        expect(page.get_by_test_id("idp-none")).to_be_hidden()

        search.fill("école")
        expect(page.locator("#idp-list li:visible")).to_have_count(1)
        search.press("Enter")
        page.wait_for_url("https://idp.epfl.example.org/sso?SAMLRequest=**")
        cookies = {cookie["name"]: cookie for cookie in context.cookies(f"{base}/saml2/login/")}
        assert EPFL_IDP.replace(":", "%3A").replace("/", "%2F") == cookies["saml_idp"]["value"]

        page.goto(f"{base}/saml2/login/?next=/")
        expect(page.get_by_test_id("idp-remembered")).to_contain_text("Last used")
        expect(page.get_by_test_id("idp-choice").first).to_contain_text("EPFL")
        violations = page.evaluate("window.__csp")
    finally:
        context.close()
    assert violations == [] and messages == []
