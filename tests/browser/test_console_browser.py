"""Every page of the admin console in Chromium at a phone's 390 px and a laptop's 1280 px: no sideways
scrolling, axe-core clean, no console error under the strict CSP; screenshots in test-artifacts/console/."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from tenants.models import Membership
from tests.browser.page_checks import axe_violations, horizontal_overflow, screenshot, watch_console
from tests.tenants.console_world import build

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PAGES = ["overview", "branding", "members", "rooms", "deployment", "statistics", "audit"]
# The tooltip Chart.js shows on the canvas, as [title, value], once it is visible.
TOOLTIP = """canvas => {
  const tip = Chart.getChart(canvas).tooltip;
  return tip && tip.opacity >= 1 && tip.title.length ? [tip.title[0], tip.body[0].lines[0]] : null;
}"""
WIDTHS = {"phone": (390, 844), "laptop": (1280, 900)}


@pytest.fixture
def signed_in(browser, live_server, client, tenant, admin_user):
    """A browser context signed in as the tenant's admin, and the site's base URL."""
    build(tenant, admin_user)
    client.force_login(admin_user)
    base = live_server.url.replace("127.0.0.1", "localhost")

    def open_context(width: int, height: int):
        context = browser.new_context(locale="en-GB", viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
        return context

    return open_context, base


@pytest.mark.parametrize("size", WIDTHS)
def test_every_console_page_fits_is_accessible_and_error_free(signed_in, tenant, size):
    open_context, base = signed_in
    context = open_context(*WIDTHS[size])
    try:
        page = context.new_page()
        errors = watch_console(page)
        problems: dict[str, list[str]] = {}
        for name in PAGES:
            page.goto(base + reverse(f"console:{name}", kwargs={"tenant": tenant.slug}))
            page.wait_for_load_state("load")
            if name == "statistics":
                page.wait_for_selector("canvas[data-chart-drawn]")
            screenshot(page, f"{name}-{size}")
            found = [f"console: {e}" for e in errors]
            errors.clear()
            if overflow := horizontal_overflow(page):
                found.append(f"scrolls sideways by {overflow}px")
            found += axe_violations(page)
            title, current = page.title(), page.locator(".console-nav [aria-current=page]").inner_text()
            if not title.startswith(f"{current} · "):
                found.append(f"the title {title!r} does not start with the page's name {current!r}")
            if found:
                problems[name] = found
        assert problems == {}
    finally:
        context.close()


def test_a_role_is_changed_by_choosing_it(signed_in, tenant):
    open_context, base = signed_in
    context = open_context(1280, 900)
    try:
        page = context.new_page()
        errors = watch_console(page)
        page.goto(base + reverse("console:members", kwargs={"tenant": tenant.slug}))
        row = page.locator("[data-testid=member-row]", has_text="Chiara Conti")
        with page.expect_navigation():
            row.locator("select[name=role]").select_option("host")
        assert "Chiara Conti is now Host." in page.locator(".messages").inner_text()
        assert Membership.objects.get(user__username="student2").role == "host"
        assert (
            page.locator("[data-testid=member-row]", has_text="Chiara Conti")
            .locator("select[name=role]")
            .input_value()
            == "host"
        )
        assert errors == []
    finally:
        context.close()


def test_chart_shows_the_value_under_the_pointer(signed_in, tenant):
    open_context, base = signed_in
    context = open_context(390, 844)
    try:
        page = context.new_page()
        errors = watch_console(page)
        page.goto(base + reverse("console:statistics", kwargs={"tenant": tenant.slug}))
        canvas = page.locator("canvas[data-chart-drawn]").first
        canvas.scroll_into_view_if_needed()
        box = canvas.bounding_box()
        assert box is not None and box["width"] <= 390
        # Hover over the right end of the plot: Chart.js's tooltip names the day and its count.
        page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + box["height"] / 2)
        tooltip = page.wait_for_function(TOOLTIP, arg=canvas.element_handle())
        day, value = tooltip.json_value()
        assert re.fullmatch(r"\w+day, \d{1,2} \w+ 20\d\d", day) and re.fullmatch(r"\d+", value), (day, value)
        screenshot(page, "statistics-hover-phone")
        assert errors == []
    finally:
        context.close()


def test_branding_preview_shows_rendered_welcome_and_the_saved_logo(signed_in, tenant, settings, tmp_path):
    import io

    from PIL import Image

    settings.MEDIA_ROOT = tmp_path
    logo = tmp_path / "logo.png"
    buffer = io.BytesIO()
    Image.new("RGB", (120, 40), "#8a1538").save(buffer, "PNG")
    logo.write_bytes(buffer.getvalue())
    open_context, base = signed_in
    context = open_context(390, 844)
    try:
        page = context.new_page()
        errors = watch_console(page)
        page.goto(base + reverse("console:branding", kwargs={"tenant": tenant.slug}))
        page.fill("textarea[name=welcome_text]", "Welcome to the **lecture halls**")
        # Rendered by the server's sanitiser, as the home page shows it: bold, not asterisks.
        page.wait_for_function(
            "() => document.querySelector('#preview-welcome strong')?.textContent === 'lecture halls'"
        )
        page.set_input_files("input[name=logo]", str(logo))
        assert page.locator("#preview-logo").is_visible()
        with page.expect_navigation():
            page.click("button:has-text('Save branding')")
        assert "The branding is saved." in page.locator(".messages").inner_text()
        # After saving: the stored logo as a thumbnail, in the preview, and one way to remove it.
        assert page.locator("[data-testid=current-logo]").evaluate("img => img.naturalWidth") == 120
        assert page.locator("#preview-logo").evaluate("img => img.naturalWidth") == 120
        assert page.locator("input[name=remove_logo]").count() == 1
        assert page.locator("#preview-welcome strong").inner_text() == "lecture halls"
        screenshot(page, "branding-saved-phone")
        page.check("input[name=remove_logo]")
        assert page.locator("#preview-logo").is_hidden()
        assert errors == []
        assert axe_violations(page) == [] and horizontal_overflow(page) == 0
    finally:
        context.close()


def test_arrow_keys_on_a_role_do_not_save_each_step(signed_in, tenant):
    open_context, base = signed_in
    context = open_context(1280, 900)
    try:
        page = context.new_page()
        errors = watch_console(page)
        page.goto(base + reverse("console:members", kwargs={"tenant": tenant.slug}))
        row = page.locator("[data-testid=member-row]", has_text="David Dubois")
        select, save = row.locator("select[name=role]"), row.locator("button[data-no-js]")
        assert save.is_hidden()
        select.focus()
        page.keyboard.press("ArrowUp")  # member -> host: shown, not saved
        save.wait_for(state="visible")
        assert Membership.objects.get(user__username="student3").role == "member"
        with page.expect_navigation():
            page.keyboard.press("Enter")
        assert Membership.objects.get(user__username="student3").role == "host"
        assert errors == []
    finally:
        context.close()
