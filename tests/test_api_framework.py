"""The API as a whole: one error shape, throttles, the schema, the docs, and a property-based schema run."""

from __future__ import annotations

import io
import re

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from tests.api_support import assert_error, bearer_client, session_client, token_for
from tests.conftest import keep_test_connection
from tests.factories import RoomFactory
from tests.meetings.helpers import make_series


@pytest.fixture(autouse=True)
def _fresh_throttles():
    cache.clear()
    yield
    cache.clear()


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"address": "1000/min", "token": "1000/min", **rates},
    }


def test_every_error_has_the_same_shape(settings, host, member, tenant):
    _rates(settings, token="6/min")
    RoomFactory(tenant=tenant, owner=host, name="algebra")
    client = bearer_client(token_for(host, tenant))
    errors = {
        400: assert_error(client.post("/api/v1/rooms/", {"title": ""}, format="json"), 400, "invalid"),
        401: assert_error(APIClient().get("/api/v1/rooms/"), 401, "not_authenticated"),
        403: assert_error(
            bearer_client(token_for(member, tenant)).post("/api/v1/rooms/", {"title": "x"}, format="json"),
            403,
            "missing_scope",
        ),
        404: assert_error(client.get("/api/v1/rooms/nope/"), 404, "not_found"),
        405: assert_error(client.delete("/api/v1/rooms/"), 405, "method_not_allowed"),
        415: assert_error(
            client.post("/api/v1/rooms/", "title=x", content_type="text/plain"), 415, "unsupported_media_type"
        ),
    }
    errors[400.1] = assert_error(
        client.post("/api/v1/rooms/", "{not json", content_type="application/json"), 400, "parse_error"
    )
    # Bounded: a throttle that never answers 429 fails here instead of looping forever.
    for _ in range(5000):
        response = client.get("/api/v1/rooms/")
        if response.status_code == 429:
            break
    errors[429] = assert_error(response, 429, "throttled")
    assert {tuple(sorted(e)) for e in errors.values()} == {("code", "fields", "message")}
    assert errors[400]["fields"]["title"]
    assert all(e["fields"] == {} for status, e in errors.items() if status != 400)


def test_unknown_api_paths_answer_json_404(host, tenant):
    for path in (
        "/api/v1/nothing/",
        "/api/v1/rooms/a/b/c/",
        "/api/v1/",
        "/api/v1/rooms/x%0Ay/",
        "/api/v1/%C3%B8",
    ):
        assert_error(APIClient().get(path), 404, "no_endpoint")
        assert_error(bearer_client(token_for(host, tenant)).post(path), 404, "no_endpoint")


def test_token_throttle_answers_429_with_retry_after(settings, host, tenant):
    _rates(settings, token="3/min")
    first = bearer_client(token_for(host, tenant, name="a"))
    statuses = [first.get("/api/v1/me/").status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    response = first.get("/api/v1/me/")
    error = assert_error(response, 429, "throttled")
    assert 1 <= int(response["Retry-After"]) <= 60
    assert response["Retry-After"] in error["message"]
    # Another token of the same person from the same address has its own budget.
    assert bearer_client(token_for(host, tenant, name="b")).get("/api/v1/me/").status_code == 200


def test_address_throttle_spans_tokens_and_sessions(settings, host, member, tenant):
    _rates(settings, address="4/min")
    clients = [
        bearer_client(token_for(host, tenant)),
        session_client(member),
        bearer_client(token_for(member, tenant)),
    ]
    statuses = [clients[n % 3].get("/api/v1/me/").status_code for n in range(5)]
    assert statuses == [200, 200, 200, 200, 429]
    # Another address is not affected.
    other = bearer_client(token_for(host, tenant))
    assert other.get("/api/v1/me/", REMOTE_ADDR="192.0.2.7").status_code == 200


def test_forwarded_for_is_ignored_without_trusted_proxies(settings, host, tenant):
    _rates(settings, address="2/min")
    client = bearer_client(token_for(host, tenant))
    statuses = [
        client.get("/api/v1/me/", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code for n in range(3)
    ]
    assert statuses == [200, 200, 429]


@pytest.mark.django_db
def test_schema_validates_without_warnings():
    out = io.StringIO()
    call_command("spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", stdout=out)
    schema = out.getvalue()
    for path in (
        "/api/v1/rooms/",
        "/api/v1/rooms/{room}/archive/",
        "/api/v1/me/",
        "/api/v1/tokens/{prefix}/",
        "/api/v1/branding/",
        "/api/v1/rooms/{room}/series/",
        "/api/v1/series/{code}/",
        "/api/v1/series/{code}/occurrences/",
        "/api/v1/series/{code}/occurrences/{key}/cancel/",
        "/api/v1/series/{code}/occurrences/{key}/move/",
        "/api/v1/series/{code}/occurrences/{key}/restore/",
        "/api/v1/rooms/{room}/count/",
        "/api/v1/statistics/",
    ):
        assert f'"{path}"' in schema
    assert '"personalToken"' in schema and '"Error"' in schema


def test_schema_is_served_to_anyone(db):
    response = APIClient().get("/api/v1/schema/?format=json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "auditorium API"


@pytest.mark.parametrize("path", ["/api/v1/docs/", "/api/v1/docs/redoc/"])
def test_docs_render_from_local_assets_only(db, path):
    response = Client().get(path)
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r"""(?:src|href)\s*=\s*["']([^"']+)["']""", html)
    assert urls, html
    assert not [u for u in urls if u.startswith(("http:", "https:", "//"))], urls
    if path == "/api/v1/docs/":  # Swagger UI's settings come with its init script (a URL: CSP)
        script = Client().get(f"{path}?script=").content.decode()
        assert '"validatorUrl": null' in script  # no badge fetched from validator.swagger.io
    assert not re.search(r"https?://(?!127\.0\.0\.1|localhost|testserver)[a-z]", html), "external URL in page"
    for url in urls:
        if url.startswith("/static/"):
            asset = Client().get(url)
            assert asset.status_code == 200, url
            b"".join(asset.streaming_content) if asset.streaming else asset.content


# --- property-based: every operation, generated inputs, real WSGI app and database ------------------------


def _run_schemathesis(headers, settings, max_examples, cookies=None, known=None):
    hypothesis = pytest.importorskip("hypothesis")
    schemathesis = pytest.importorskip("schemathesis")
    from portal.wsgi import application

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    with keep_test_connection():
        return _each_operation(
            schemathesis, hypothesis, application, headers, cookies, max_examples, known or {}
        )


def _each_operation(schemathesis, hypothesis, application, headers, cookies, max_examples, known):
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import (
        content_type_conformance,
        response_schema_conformance,
        status_code_conformance,
    )

    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
    ]
    operations = [result.ok() for result in schema.get_all_operations()]
    # Deleting and archiving last, so that the other operations still find the known objects.
    operations.sort(key=lambda op: (op.path.endswith("/archive/"), op.method.upper() == "DELETE"))
    succeeded: set[str] = set()
    calls: list[object] = []
    assert len(operations) >= 22
    for operation in operations:

        @hypothesis.given(case=operation.as_strategy())
        @hypothesis.settings(
            max_examples=max_examples,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        def check(case):
            # Every other case names objects that exist (a room, a series, a lecture), so that generated
            # bodies and queries reach the success paths, not only the 404 of an unknown name.
            calls.append(case)
            if len(calls) % 2 and case.path_parameters:
                case.path_parameters = {
                    name: known.get(name, value) for name, value in case.path_parameters.items()
                }
            if cookies and len(calls) % 2 and case.headers:
                # With a session, every other case without the generated (never valid) bearer token, which
                # would otherwise take precedence over the session and answer 401.
                case.headers.pop("Authorization", None)
            response = case.call_and_validate(headers=headers, cookies=cookies, checks=checks)
            if response.status_code < 300:
                succeeded.add(case.operation.label)

        check()
    return succeeded


@pytest.mark.slow
def test_schemathesis_finds_no_server_error_and_no_schema_violation_with_a_token(
    settings, admin_user, tenant
):
    _rates(settings, address="100000/min", token="100000/min")
    room = RoomFactory(tenant=tenant, owner=admin_user, name="algebra")
    series = make_series(room)
    succeeded = _run_schemathesis(
        {"Authorization": f"Bearer {token_for(admin_user, tenant)}"},
        settings,
        max_examples=20,
        known={"room": room.name, "code": series.code, "key": "20260302T091500Z"},
    )
    # Generated inputs reached the endpoints' success paths, not only refusals. Creating a room is not
    # required here: whether a generated title passes the single-line rule varies with what Hypothesis
    # draws, and the stateful run (tests/test_api_schemathesis.py) creates rooms on every scenario.
    assert {
        "GET /api/v1/me/",
        "GET /api/v1/rooms/",
        "GET /api/v1/branding/",
        "PATCH /api/v1/branding/",
        "GET /api/v1/rooms/{room}/series/",
        "GET /api/v1/series/{code}/",
        "PATCH /api/v1/series/{code}/",
        "GET /api/v1/series/{code}/occurrences/",
        "POST /api/v1/series/{code}/occurrences/{key}/cancel/",
        "POST /api/v1/series/{code}/occurrences/{key}/restore/",
        "DELETE /api/v1/series/{code}/",
        "GET /api/v1/rooms/{room}/count/",
        "GET /api/v1/statistics/",
    } <= succeeded, succeeded


@pytest.mark.slow
def test_schemathesis_with_a_session(settings, host, tenant):
    from django.conf import settings as live

    _rates(settings, address="100000/min", token="100000/min")
    client = Client()
    client.force_login(host)
    session_id = client.cookies[live.SESSION_COOKIE_NAME].value
    csrf = "a" * 32  # a valid unmasked CSRF secret; cookie and header agree
    cookies = {live.SESSION_COOKIE_NAME: session_id, live.CSRF_COOKIE_NAME: csrf}
    room = RoomFactory(tenant=tenant, owner=host, name="algebra")
    series = make_series(room)
    succeeded = _run_schemathesis(
        {"X-CSRFToken": csrf},
        settings,
        max_examples=12,
        cookies=cookies,
        known={"room": room.name, "code": series.code, "key": "20260302T091500Z"},
    )
    assert {
        "GET /api/v1/tokens/",
        "POST /api/v1/tokens/",
        "GET /api/v1/branding/",
        "GET /api/v1/series/{code}/occurrences/",
    } <= succeeded, succeeded


def test_guessing_tokens_is_throttled_per_address(settings, host, tenant):
    _rates(settings, token_failure="3/min")
    good = token_for(host, tenant)
    guesser = bearer_client("aud_0123456789_guess")
    assert [guesser.get("/api/v1/me/").status_code for _ in range(3)] == [401, 401, 401]
    # Past the limit even a right token from that address is not looked at: no oracle for guesses.
    response = bearer_client(good).get("/api/v1/me/")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) >= 1
    # Other addresses are unaffected; successful requests never count as failures.
    assert bearer_client(good).get("/api/v1/me/", REMOTE_ADDR="192.0.2.9").status_code == 200


def test_views_answering_errors_themselves_use_the_same_shape():
    from tenants.api.errors import ErrorSerializer, error_response

    response = error_response(
        status=409, code="not_open", message="Opens at 10:00.", opens_at="2026-01-01T10:00Z"
    )
    body = response.data
    assert body == {
        "error": {
            "code": "not_open",
            "message": "Opens at 10:00.",
            "fields": {},
            "opens_at": "2026-01-01T10:00Z",
        }
    }
    assert ErrorSerializer(data=body).is_valid()
