"""Prosody's calls (/jitsi/...) through the production WSGI application skip the portal's middleware
(portal/handlers.py) and answer exactly as through the full stack; everything else keeps the full stack."""

from __future__ import annotations

import io
import json
import sys
from typing import Any

import pytest

from meetings import event_views
from meetings.models import MeetingSession
from portal.wsgi import application
from tests.conftest import keep_test_connection
from tests.factories import RoomFactory, TenantFactory
from tests.meetings.prosody import raw, scenario

SECRET = "event-secret-of-demo-0123456789"


def call(method: str, path: str, body: bytes = b"", **headers: str) -> tuple[int, dict[str, str], bytes]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": "",
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "CONTENT_LENGTH": str(len(body)),
        "CONTENT_TYPE": "application/json",
        **{f"HTTP_{k.upper()}": v for k, v in headers.items()},
    }
    started: list[Any] = []
    chunks = application(
        environ, lambda status, response_headers, *exc: started.append((status, response_headers))
    )
    try:
        content = b"".join(chunks)
    finally:
        chunks.close()
    status, response_headers = started[0]
    return int(status[:3]), dict(response_headers), content


@pytest.fixture(autouse=True)
def _fresh(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    event_views.forget_deployments()
    with keep_test_connection():
        yield
    event_views.forget_deployments()


@pytest.fixture
def demo(db):
    return TenantFactory(slug="demo", name="Demo University")


def test_events_are_recorded_without_the_portal_middleware(demo):
    RoomFactory(tenant=demo, name="room1")
    counts = []
    for rec in scenario("basic"):
        status, headers, content = call(
            "POST", rec["request"]["path"], raw(rec), authorization=f"Bearer {SECRET}"
        )
        assert status == 200, content
        counts.append(json.loads(content)["count"])
        assert headers["X-Content-Type-Options"] == "nosniff"  # SecurityMiddleware still runs
        assert "Set-Cookie" not in headers and "Vary" not in headers  # no session, CSRF or locale layers
    assert counts == [0, 1, 2, 1, 0, 0]
    assert MeetingSession.objects.get().peak_participants == 2


def test_refusals_are_the_same_as_through_the_full_stack(demo, client):
    rec = scenario("basic")[0]
    lean = call("POST", rec["request"]["path"], raw(rec), authorization="Bearer wrong")
    full = client.post(
        rec["request"]["path"], raw(rec), content_type="application/json", HTTP_AUTHORIZATION="Bearer wrong"
    )
    assert lean[0] == full.status_code == 401 and json.loads(lean[2]) == full.json()
    assert lean[1]["WWW-Authenticate"] == full["WWW-Authenticate"]
    bad = call("POST", rec["request"]["path"], b"{not json", authorization=f"Bearer {SECRET}")
    assert bad[0] == 400 and json.loads(bad[2])["error"]


def test_an_unknown_machine_path_is_a_404_page_not_a_500(demo):
    status, _headers, content = call("GET", "/jitsi/demo/nothing-here")
    assert status == 404 and b"<html" in content.lower()


def test_other_paths_keep_the_portal_middleware(demo):
    status, headers, _content = call("GET", "/demo/")
    assert (status == 200 and "Cookie" in headers.get("Vary", "")) or "Accept-Language" in headers.get(
        "Vary", ""
    )
    status, _headers, _content = call("POST", "/accounts/logout/")  # no CSRF token: refused by the middleware
    assert status == 403


# Only Prosody's routes exist under /jitsi/ (portal/machine_urls.py) -------------------------------------

NOT_PROSODY = [
    "/jitsi/",
    "/jitsi/rooms/",
    "/jitsi/rooms/new/",
    "/jitsi/r/x/",
    "/jitsi/manage/",
    "/jitsi/manage/members/",
    "/jitsi/settings/tokens/",
    "/jitsi/feeds/x.ics",
    "/jitsi/lectures/",
    "/jitsi/demo/events/room/nothing",
    "/jitsi/\x00/events/room/created",
    "/jitsi/demo/asap/\x00.pem",
    "/jitsi/demo/asap/" + "0" * 63 + ".pem",
    "/jitsi/" + "x" * 10_000 + "/branding.json",
]


@pytest.mark.parametrize("path", NOT_PROSODY, ids=lambda p: p[:40])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_only_prosodys_routes_resolve_under_jitsi(demo, method, path):
    status, headers, content = call(method, path, b"{}", authorization=f"Bearer {SECRET}")
    assert status == 404, (path[:60], status, content[:200])
    assert headers["X-Content-Type-Options"] == "nosniff"


def test_prosodys_routes_still_answer_under_the_lean_handler(demo):
    status, headers, content = call("GET", "/jitsi/demo/branding.json")
    assert status == 200 and headers["Content-Type"].startswith("application/json"), content[:200]
    status, _headers, _content = call("GET", "/jitsi/demo/asap/" + "0" * 64 + ".pem")
    assert status == 404  # no such key: the view's own answer
    rec = scenario("basic")[0]
    status, _headers, content = call(
        "POST", rec["request"]["path"], raw(rec), authorization=f"Bearer {SECRET}"
    )
    assert status == 200, content


def test_hostile_event_bodies_are_400_under_the_lean_handler(demo):
    path = scenario("basic")[0]["request"]["path"]
    for body in (b"[" * 100_000, b'{"x":' + b"1" * 5000 + b"}"):
        status, _headers, content = call("POST", path, body, authorization=f"Bearer {SECRET}")
        assert status == 400 and json.loads(content)["error"], content[:200]


# No tenant can take a path segment of the portal --------------------------------------------------------


def _top_level_segments() -> set[str]:
    from django.urls import URLResolver, get_resolver

    def walk(patterns, prefix):
        for entry in patterns:
            route = prefix + str(entry.pattern).lstrip("^")
            if isinstance(entry, URLResolver) and route == "":
                yield from walk(entry.url_patterns, route)
            else:
                yield route

    segments = set()
    for route in walk(get_resolver().url_patterns, ""):
        first = route.split("/", 1)[0]
        if first and not first.startswith("<") and first.replace("-", "").isalnum():
            segments.add(first)
    return segments


def test_every_top_level_route_is_a_reserved_slug():
    from tenants.models import RESERVED_SLUGS

    segments = _top_level_segments()
    assert {"jitsi", "api", "admin", "saml2", "new", "bench", "healthz", "accounts", "dev-idp"} <= segments
    assert segments <= RESERVED_SLUGS, segments - RESERVED_SLUGS


@pytest.mark.parametrize(
    "slug", ["jitsi", "api", "admin", "saml2", "static", "media", "new", "dev-idp", "bench", "readyz"]
)
def test_creating_a_tenant_with_a_reserved_slug_is_refused(db, slug):
    from django.core.exceptions import ValidationError

    from tenants import services
    from tenants.models import Tenant

    with pytest.raises(ValidationError) as caught:
        services.create_tenant(
            actor=None,
            slug=slug,
            name="Clash University",
            deployment={
                "base_url": "https://meet.clash.example.org",
                "xmpp_domain": "meet.clash.example.org",
                "app_id": "clash",
            },
        )
    assert "slug" in caught.value.message_dict
    assert not Tenant.objects.filter(slug=slug).exists()
