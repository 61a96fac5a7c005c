"""Every page of every actor renders in Chromium under the Content-Security-Policy with zero
`securitypolicyviolation` events: the anonymous visitor, a student, a lecturer, a tenant admin, the API
docs, the meeting page (Jitsi's external_api.js stubbed) and the development IdP's sign-in round trip."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from PIL import Image

from tenants import key_files, saml_config, services
from tests.csp_pages import site

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

RECORD = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push([e.violatedDirective, e.blockedURI, e.sourceFile, e.lineNumber, e.sample].join(" "));
});
"""
STUB = """
window.JitsiMeetExternalAPI = function (domain, options) {
  var frame = document.createElement("iframe");
  frame.id = "jitsi-frame";
  options.parentNode.appendChild(frame);
  this.addListener = function () {};
};
"""
# Pages that draw themselves after load: wait for what they draw before counting violations.
DRAWN = {"/api/v1/docs/": "#swagger-ui .swagger-ui", "/api/v1/docs/redoc/": ".api-content"}


def _context(browser: Any, base: str, client: Client | None, violations: list[str]) -> Any:
    context = browser.new_context(locale="en-GB")
    context.set_default_timeout(15_000)
    context.add_init_script(RECORD)
    context.route(
        "**/external_api.js",
        lambda route: route.fulfill(status=200, content_type="application/javascript", body=STUB),
    )
    if client is not None:
        context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": base}])
    return context


def _visit(page: Any, url: str, violations: list[str]) -> None:
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    response = page.goto(url)
    assert response is not None and response.status == 200, (url, response and response.status)
    assert "default-src 'self'" in response.headers["content-security-policy"], url
    for path, selector in DRAWN.items():
        if url.endswith(path):
            page.wait_for_selector(selector, state="attached")
    if page.locator("#meeting").count():
        page.wait_for_selector("#jitsi-frame", state="attached")  # external_api.js ran (the stub)
    page.wait_for_load_state("networkidle")
    violations.extend(f"{url}: {v}" for v in page.evaluate("window.__csp"))
    violations.extend(f"{url}: {m}" for m in messages)


def test_every_page_renders_without_a_policy_violation(
    browser, live_server, tenant, host, member, admin_user, settings, tmp_path
):
    settings.ANONYMOUS_TENANT = tenant.slug
    settings.MEDIA_ROOT = tmp_path
    buffer = io.BytesIO()
    Image.new("RGB", (60, 20), "#8a1538").save(buffer, "PNG")
    from django.core.files.uploadedfile import SimpleUploadedFile

    services.change_branding(
        actor=admin_user,
        tenant=tenant,
        changes={
            "primary_colour": "#8a1538",
            "logo": SimpleUploadedFile("logo.png", buffer.getvalue()),
            "background_image": SimpleUploadedFile("bg.png", buffer.getvalue()),
            "welcome_text": "Welcome to **UZH**",
        },
    )
    from playwright.sync_api import expect

    base = live_server.url.replace("127.0.0.1", "localhost")
    pages = site(tenant, host)
    people = {"anonymous": None, "member": member, "host": host, "admin": admin_user}
    violations: list[str] = []
    visited = 0
    for actor, urls in pages.items():
        client = None
        if people[actor] is not None:
            client = Client()
            client.force_login(people[actor])
        context = _context(browser, base, client, violations)
        page = context.new_page()
        for url in urls:
            _visit(page, f"{base}{url}", violations)
            visited += 1
        if actor == "anonymous":
            # An anonymous meeting (/new/ -> the meeting page of another deployment's origin).
            page.goto(f"{base}/new/")
            page.fill("input[name=display_name]", "Ada")
            page.locator("form button[type=submit]").last.click()
            page.wait_for_selector("#jitsi-frame", state="attached")
            violations.extend(f"/new/ meeting: {v}" for v in page.evaluate("window.__csp"))
        if actor == "host":
            # The share page's copy button runs from its static file.
            context.grant_permissions(["clipboard-read", "clipboard-write"], origin=base)
            page.goto(f"{base}/{tenant.slug}/rooms/")
            page.locator("[data-testid=room-share]").first.click()
            page.wait_for_load_state("load")  # copy-link.js is deferred: bound by then
            page.get_by_test_id("copy-link").click()
            expect(page.locator("#copy-status")).to_have_text("Link copied.")
            violations.extend(f"share: {v}" for v in page.evaluate("window.__csp"))
        context.close()
    assert visited >= 25
    assert violations == []


@pytest.fixture
def dev_site(live_server: Any, settings: Any, tmp_path: Path) -> Any:
    url = live_server.url.replace("127.0.0.1", "localhost")
    key_pem, cert_pem = key_files.self_signed_pair("csp-test SP")
    (tmp_path / "sp.key").write_bytes(key_pem)
    (tmp_path / "sp.crt").write_bytes(cert_pem)
    settings.PUBLIC_URL = url
    settings.SAML_ENTITY_ID = f"{url}/saml2/metadata/"
    settings.SAML_KEY_FILE = str(tmp_path / "sp.key")
    settings.SAML_CERT_FILE = str(tmp_path / "sp.crt")
    settings.SAML_METADATA_FILES = []
    settings.PORTAL_DEV_IDP = True
    settings.VAR_DIR = tmp_path / "var"
    saml_config.clear_config_cache()
    call_command("seed_demo", stdout=io.StringIO())
    yield url
    saml_config.clear_config_cache()


def test_development_idp_round_trip_has_no_policy_violation(browser, dev_site):
    violations: list[str] = []
    context = _context(browser, dev_site, None, violations)
    page = context.new_page()
    messages: list[str] = []
    page.on("console", lambda m: messages.append(m.text) if "Content Security Policy" in m.text else None)
    seen: list[str] = []
    page.on(
        "response",
        lambda r: (
            seen.append(r.headers.get("content-security-policy", ""))
            if r.request.resource_type == "document"
            else None
        ),
    )
    page.goto(f"{dev_site}/demo/")
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(f"{dev_site}/dev-idp/sso/**")
    violations.extend(page.evaluate("window.__csp"))
    page.get_by_test_id("dev-idp-lecturer").click()
    # The IdP's auto-posting page (static/js/auto-post.js) carries the answer to the SP's ACS.
    page.wait_for_url(f"{dev_site}/demo/")
    violations.extend(page.evaluate("window.__csp"))
    assert page.get_by_test_id("signed-in-as").inner_text() == "Lena Lecturer"
    context.close()
    assert violations == [] and messages == []
    assert seen and all("default-src 'self'" in header for header in seen), seen
