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
