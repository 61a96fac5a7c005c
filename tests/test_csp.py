"""Every response carries the portal's Content-Security-Policy (portal/csp.py); pages add only what they
declare (the Jitsi server on the meeting page, the IdP a SAML form posts to)."""

from __future__ import annotations

import base64
import hashlib

import pytest
from django.test import Client
from saml2.pack import http_form_post_message

from portal import csp
from tests.csp_pages import site

pytestmark = pytest.mark.django_db

REQUIRED = {
    "default-src": {"'self'"},
    "script-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "connect-src": {"'self'", "ws://testserver", "wss://testserver"},
    "object-src": {"'none'"},
    "base-uri": {"'none'"},
    "frame-ancestors": {"'none'"},
    "form-action": {"'self'"},
}


def directives(header: str) -> dict[str, list[str]]:
    parsed = {}
    for part in header.split(";"):
        name, *sources = part.split()
        parsed[name] = sources
    return parsed


def assert_strict(response, *, jitsi: str | None = None, redoc: bool = False) -> dict[str, list[str]]:
    policy = directives(response["Content-Security-Policy"])
    for name, sources in REQUIRED.items():
        assert sources <= set(policy[name]), (name, policy[name])
    if redoc:  # the one page that styles itself at run time (templates/api/redoc.html)
        assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    for name in ("script-src", "default-src") if redoc else ("script-src", "style-src", "default-src"):
        assert not {"'unsafe-inline'", "'unsafe-eval'", "*", "https:", "http:"} & set(policy[name]), policy
    expected_frames = [jitsi] if jitsi else ["'none'"]
    assert policy["frame-src"] == expected_frames
    assert policy["script-src"] == ["'self'", jitsi] if jitsi else policy["script-src"] == ["'self'"]
    return policy


def test_every_page_of_every_actor_carries_the_policy(tenant, host, member, admin_user, settings):
    settings.ANONYMOUS_TENANT = tenant.slug
    pages = site(tenant, host)
    actors = {"anonymous": None, "member": member, "host": host, "admin": admin_user}
    seen = 0
    for actor, urls in pages.items():
        client = Client()
        if actors[actor] is not None:
            client.force_login(actors[actor])
        for url in urls:
            response = client.get(url)
            assert response.status_code == 200, (actor, url, response.status_code)
            if response["Content-Type"].startswith("text/html"):
                meeting = b'id="jitsi-options"' in response.content
                jitsi = "https://meet.uzh.example.org" if meeting else None
                assert_strict(response, jitsi=jitsi, redoc=url.endswith("/redoc/"))
                assert b"<style" not in response.content and b" style=" not in response.content, url
                assert b"<script>" not in response.content and b" onload=" not in response.content, url
                seen += 1
    assert seen >= 25


def test_error_pages_carry_it_too(client, tenant):
    for url in ("/no-such-page/", "/nope/", "/uzh/rooms/missing/"):
        response = client.get(url)
        assert response["Content-Type"].startswith("text/html") and response.status_code in (302, 404)
        assert_strict(response)


def test_answers_that_are_not_pages_get_the_strictest_policy(client, tenant, member):
    client.force_login(member)
    # The static file last: closing its streamed answer ends the "request" (and the test connection).
    for url in ("/api/v1/me/", "/api/v1/schema/", "/uzh/branding.css", "/static/js/live-count.js"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert response["Content-Security-Policy"] == csp.NOT_A_PAGE
    response.close()
    assert directives(csp.NOT_A_PAGE)["default-src"] == ["'none'"]


def test_csrf_failure_page_has_no_inline_style(tenant, member):
    client = Client(enforce_csrf_checks=True)
    client.force_login(member)
    response = client.post("/accounts/logout/")
    assert response.status_code == 403
    assert b"<style" not in response.content and b"/static/css/site.css" in response.content
    assert_strict(response)


def test_branding_stylesheet_replaces_the_inline_style(client, tenant, admin_user):
    from tenants import services

    services.change_branding(actor=admin_user, tenant=tenant, changes={"primary_colour": "#8a1538"})
    page = client.get("/uzh/").content.decode()
    assert "<style" not in page and 'href="/uzh/branding.css?v=2"' in page
    css = client.get("/uzh/branding.css?v=2")
    assert css["Content-Type"] == "text/css; charset=utf-8"
    assert "--primary: #8a1538;" in css.content.decode()
    assert client.get("/uzh/branding.css", HTTP_IF_NONE_MATCH=css["ETag"]).status_code == 304


def test_redoc_relaxes_only_styles_and_its_search_worker(client):
    policy = directives(client.get("/api/v1/docs/redoc/")["Content-Security-Policy"])
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]
    assert policy["worker-src"] == ["'self'", "blob:"]
    assert policy["script-src"] == ["'self'"] and policy["img-src"] == ["'self'", "data:", "blob:"]


def test_pages_cannot_relax_script_src(rf):
    with pytest.raises(ValueError):
        csp.allow_keyword(rf.get("/"), "script-src", "'unsafe-inline'")


def test_swagger_init_script_is_a_url_not_inline(client):
    page = client.get("/api/v1/docs/")
    assert b"<script>" not in page.content and b"<style" not in page.content
    script = client.get("/api/v1/docs/?script=")
    assert script.status_code == 200 and script["Content-Type"].startswith("application/javascript")


def test_pysaml2_auto_post_page_is_allowed_exactly_on_saml_routes(rf):
    # Contract with pysaml2: its POST-binding page submits from this one onload handler (allowed by hash).
    page = http_form_post_message("<x/>", "https://idp.example.org/slo", typ="SAMLRequest")["data"]
    assert f'onload="{csp.PYSAML2_AUTO_POST}"' in page
    digest = base64.b64encode(hashlib.sha256(csp.PYSAML2_AUTO_POST.encode()).digest()).decode()
    from django.http import HttpResponse

    response = HttpResponse(page)
    on_saml = directives(csp.policy_for(rf.get("/saml2/ls/"), response))
    assert f"'sha256-{digest}'" in on_saml["script-src"] and "'unsafe-hashes'" in on_saml["script-src"]
    assert on_saml["form-action"] == ["'self'", "https://idp.example.org"]
    elsewhere = directives(csp.policy_for(rf.get("/uzh/"), response))
    assert elsewhere["script-src"] == ["'self'"] and elsewhere["form-action"] == ["'self'"]


def test_origin_accepts_only_plain_http_origins():
    assert csp.origin("https://meet.example.org/path?x=1") == "https://meet.example.org"
    assert csp.origin("https://meet.example.org:8443/") == "https://meet.example.org:8443"
    for bad in (
        "javascript:alert(1)",
        "data:text/html,x",
        "https://a b/",
        "https://x;script-src *",
        "/local",
    ):
        assert csp.origin(bad) == ""


def test_djangosaml2_post_binding_page_posts_to_the_idp_without_inline_script(rf):
    # djangosaml2 renders this template when an IdP offers only the POST binding for sign-in.
    from django.http import HttpResponse
    from django.template.loader import render_to_string

    request = rf.get("/saml2/login/")
    html = render_to_string(
        "djangosaml2/post_binding_form.html",
        {"target_url": "https://idp.example.org/sso", "params": {"SAMLRequest": "PHg+", "RelayState": "/"}},
        request=request,
    )
    assert "<script>" not in html and "onload" not in html and "js/auto-post.js" in html
    policy = directives(csp.policy_for(request, HttpResponse(html)))
    assert policy["form-action"] == ["'self'", "https://idp.example.org"]
    assert policy["script-src"] == ["'self'"]
