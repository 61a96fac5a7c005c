"""An admin changes the primary colour and logo in a real browser; the branded pages are screenshotted."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from meetings.models import Room
from tenants.models import Branding
from tests.browser_support import ARTIFACTS
from tests.browser_support import CHROMIUM_ARGS as ARGS
from tests.factories import RoomFactory

PRIMARY = "getComputedStyle(document.documentElement).getPropertyValue('--primary')"
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_admin_brands_the_portal(live_server, client, admin_user, tenant, chromium_path, tmp_path, settings):
    from playwright.sync_api import sync_playwright

    settings.MEDIA_ROOT = tmp_path
    logo = tmp_path / "logo.png"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "#8a1538").save(buffer, "PNG")
    logo.write_bytes(buffer.getvalue())
    room = RoomFactory(tenant=tenant, owner=admin_user, title="Open lecture", access=Room.Access.LINK)
    client.force_login(admin_user)
    session = client.cookies["sessionid"].value
    base = live_server.url.replace("127.0.0.1", "localhost")
    ARTIFACTS.mkdir(exist_ok=True)

    # Playwright's sync API runs an event loop in this thread; the ORM calls below are still plain sync calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium_path, args=ARGS)
            context = browser.new_context()
            context.add_cookies([{"name": "sessionid", "value": session, "url": base}])
            page = context.new_page()
            page.goto(f"{base}/uzh/manage/branding/")
            page.fill("input[name=primary_colour]", "#8a1538")
            page.set_input_files("input[name=logo]", str(logo))
            page.fill("textarea[name=welcome_text]", "Welcome to the **lecture halls** of UZH")
            assert page.locator("#preview-logo").is_visible()
            page.screenshot(path=str(ARTIFACTS / "branding-form.png"), full_page=True)
            page.click("button:has-text('Save branding')")
            page.wait_for_url(f"{base}/uzh/manage/branding/")
            assert "The branding is saved." in page.content()

            visitor = browser.new_context().new_page()
            visitor.goto(f"{base}/uzh/")
            primary = visitor.evaluate(
                "getComputedStyle(document.documentElement).getPropertyValue('--primary')"
            )
            assert primary.strip() == "#8a1538"
            assert visitor.locator("[data-testid=tenant-logo]").evaluate("img => img.naturalWidth") == 120
            assert visitor.locator("[data-testid=welcome] strong").inner_text() == "lecture halls"
            visitor.screenshot(path=str(ARTIFACTS / "branded-home.png"), full_page=True)
            # The room's join page (a guest is asked for a name: the portal's lobby) carries the branding too.
            visitor.goto(f"{base}/uzh/r/{room.name}/")
            assert visitor.locator("input[name=display_name]").count() == 1
            primary = visitor.evaluate(
                "getComputedStyle(document.documentElement).getPropertyValue('--primary')"
            )
            assert primary.strip() == "#8a1538"
            assert visitor.locator("[data-testid=tenant-logo]").is_visible()
            visitor.screenshot(path=str(ARTIFACTS / "branded-join.png"), full_page=True)
            browser.close()
    finally:
        os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    assert Branding.objects.get(tenant=tenant).primary_colour == "#8a1538"
