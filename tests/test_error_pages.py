"""Unexpected failures: the API still answers its JSON error shape (500, nothing about what failed, logged);
pages answer the portal's own 500 page, which renders without the request's context (no database); unknown
addresses get the portal's 404 page."""

from __future__ import annotations

import json
import logging
from importlib import import_module

import pytest
from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import get_resolver, include, path
from rest_framework.decorators import api_view, authentication_classes, permission_classes
from rest_framework.request import Request
from rest_framework.response import Response

from tests.api_support import assert_error

SECRET_DETAIL = "secret-detail: alice@example.org"  # must never reach the client


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def failing_api_view(request: Request) -> Response:
    raise RuntimeError(SECRET_DETAIL)


def failing_plain_view(request: HttpRequest) -> HttpResponse:
    raise RuntimeError(SECRET_DETAIL)


def database_away() -> Exception:
    """What Django raises when PostgreSQL went away (its OperationalError, caused by psycopg's)."""
    import psycopg
    from django.db import OperationalError

    try:
        try:
            raise psycopg.OperationalError("connection refused")
        except psycopg.OperationalError as cause:
            raise OperationalError("connection refused") from cause
    except OperationalError as error:
        return error


@api_view(["GET"])
@authentication_classes([])
@permission_classes([])
def database_api_view(request: Request) -> Response:
    raise database_away()


def database_plain_view(request: HttpRequest) -> HttpResponse:
    raise database_away()


# A test URL configuration: the portal's, plus views that fail, under the API and among the pages.
urlpatterns = [
    path("api/v1/test-database/", database_api_view),
    path("api/v1/test-database-plain/", database_plain_view),
    path("test-database/", database_plain_view),
    path("api/v1/test-failure/", failing_api_view),
    path("api/v1/test-failure-plain/", failing_plain_view),
    path("test-failure/", failing_plain_view),
    path("", include("portal.urls")),
]
# The portal's own handler (Django's default where portal/urls.py names none).
handler500 = getattr(import_module("portal.urls"), "handler500", "django.views.defaults.server_error")


@pytest.fixture
def client() -> Client:
    return Client(raise_request_exception=False)  # answers as in production, not the exception


def test_the_portal_names_its_own_500_handler():
    from portal.errors import server_error

    assert get_resolver("portal.urls").resolve_error_handler(500) is server_error


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("url", ["/api/v1/test-failure/", "/api/v1/test-failure-plain/"])
def test_an_unexpected_api_error_answers_the_json_shape(db, client, caplog, url):
    with caplog.at_level(logging.ERROR):
        response = client.get(url)
    error = assert_error(response, 500, "server_error")
    assert "try again" in error["message"]
    assert SECRET_DETAIL not in response.content.decode()
    assert "Traceback" not in response.content.decode() and "RuntimeError" not in response.content.decode()
    logged = [r for r in caplog.records if r.exc_info and SECRET_DETAIL in str(r.exc_info[1])]
    assert logged, "the traceback is logged on the server"


def test_the_api_exception_handler_answers_unexpected_errors(rf, caplog):
    """DRF's handler leaves anything but API errors to Django (an HTML 500); ours answers them itself."""
    from tenants.api.errors import api_exception_handler

    request = rf.get("/api/v1/rooms/")
    with caplog.at_level(logging.ERROR, logger="tenants.api.errors"):
        response = api_exception_handler(RuntimeError(SECRET_DETAIL), {"request": request, "view": None})
    assert response is not None and response.status_code == 500
    assert response.data["error"]["code"] == "server_error" and SECRET_DETAIL not in str(response.data)
    assert any(r.exc_info and SECRET_DETAIL in str(r.exc_info[1]) for r in caplog.records)
    assert SECRET_DETAIL not in "".join(r.getMessage() for r in caplog.records)  # only in the traceback


@override_settings(ROOT_URLCONF=__name__)
def test_an_unexpected_page_error_answers_the_portals_page(db, client):
    response = client.get("/test-failure/")
    assert response.status_code == 500
    assert response["Content-Type"].startswith("text/html")
    body = response.content.decode()
    assert "Something went wrong" in body and 'class="refusal"' in body and "css/site.css" in body
    assert SECRET_DETAIL not in body and "Traceback" not in body


def test_the_500_page_needs_no_database(db):
    """Rendered without the request's context: no session, user or tenant lookups, so it also answers
    when the database is what failed."""
    from portal.errors import server_error

    request = RequestFactory().get("/uzh/rooms/")
    with CaptureQueriesContext(connection) as queries:
        response = server_error(request)
    assert response.status_code == 500 and b"Something went wrong" in response.content
    assert len(queries) == 0


def test_the_500_page_answers_even_when_its_template_fails(db, settings):
    from portal.errors import server_error

    settings.TEMPLATES = [
        {**settings.TEMPLATES[0], "DIRS": [], "APP_DIRS": False, "OPTIONS": {"context_processors": []}}
    ]
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500 and b"try again" in response.content


def test_unknown_addresses_answer_the_portals_404_page(db, client):
    response = client.get("/no/such/page/here/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Page not found" in body and 'class="refusal"' in body


def test_machine_paths_get_json_from_the_handler(db):
    from portal.errors import server_error

    for url in ("/api/v1/rooms/", "/jitsi/x/events/room/created"):
        response = server_error(RequestFactory().get(url))
        assert response.status_code == 500 and response["Content-Type"] == "application/json"
        assert json.loads(response.content)["error"]["code"] == "server_error"


@override_settings(ROOT_URLCONF=__name__)
@pytest.mark.parametrize("url", ["/api/v1/test-database/", "/api/v1/test-database-plain/"])
def test_the_database_away_is_a_503_in_the_api_shape(db, client, caplog, url):
    with caplog.at_level(logging.WARNING):
        response = client.get(url)
    error = assert_error(response, 503, "unavailable")
    assert "try again" in error["message"]
    assert response["Retry-After"] == "5"
    assert not any(r.exc_info for r in caplog.records)  # a warning line, no traceback per request
    assert not any(r.levelno >= logging.ERROR for r in caplog.records)


@override_settings(ROOT_URLCONF=__name__)
def test_the_database_away_is_a_translated_page_for_people(db, client):
    response = client.get("/test-database/", HTTP_ACCEPT_LANGUAGE="de")
    assert response.status_code == 503 and response["Retry-After"] == "5"
    body = response.content.decode()
    assert 'class="refusal"' in body and "css/site.css" in body
    assert "Vorübergehend nicht verfügbar" in body and "ß" not in body


def test_other_database_errors_stay_500(db):
    """Only an unreachable database is worth a retry: a broken query is a 500 (and a bug)."""
    from django.db import IntegrityError, ProgrammingError

    from portal.errors import database_unavailable

    assert database_unavailable(database_away())
    assert not database_unavailable(ProgrammingError("no such table"))
    assert not database_unavailable(IntegrityError("duplicate key"))
    assert not database_unavailable(None)
