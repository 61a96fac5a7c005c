"""The portal's answers when something unexpected fails: the 500 page, and the API's JSON error for /api/;
and when PostgreSQL cannot be reached: 503 with Retry-After (the same two shapes), so that people, API clients
and Prosody (which retries 5xx) try again instead of meeting an error.

`server_error` is `handler500`. It renders without the request's context (no context processors, no session,
user, tenant or database), so it answers even when the database is what failed. Machine paths (/api/, /jitsi/)
get the API's error shape as JSON; people get a page in the portal's look. Neither says what failed: the
traceback is in the server log (Django logs it as `django.request`; the API's handler logs its own)."""

from __future__ import annotations

import logging
import sys

import psycopg
from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

MACHINE_PREFIXES = ("/api/", "/jitsi/")
SERVER_ERROR_CODE = "server_error"
UNAVAILABLE_CODE = "unavailable"
RETRY_AFTER_SECONDS = 5


def server_error_message() -> str:
    return _("Something went wrong on our side. Please try again in a moment.")


def server_error_body() -> dict[str, dict[str, object]]:
    return {"error": {"code": SERVER_ERROR_CODE, "message": server_error_message(), "fields": {}}}


def server_error(request: HttpRequest) -> HttpResponse:
    # handler500 is called inside Django's `except` for the failure, so the exception is at hand.
    if database_unavailable(sys.exc_info()[1]):
        return service_unavailable(request)
    if request.path.startswith(MACHINE_PREFIXES):
        return JsonResponse(server_error_body(), status=500)
    try:
        body = loader.get_template("500.html").render({"message": server_error_message()})
    except Exception:  # the page must answer even when its template cannot render (static files, disk)
        logger.exception("The 500 page could not be rendered")
        body = f"<!doctype html><title>500</title><h1>{server_error_message()}</h1>"
    return HttpResponseServerError(body)


def database_unavailable(error: BaseException | None) -> bool:
    """Whether a failure means PostgreSQL could not be reached or dropped the connection (stopped, restarting,
    refused, timed out), looking through the exceptions it caused. Such a request may succeed when
    repeated."""
    seen = 0
    while error is not None and seen < 10:
        if isinstance(
            error, OperationalError | InterfaceError | psycopg.OperationalError | psycopg.InterfaceError
        ):
            return True
        error = error.__cause__ or error.__context__
        seen += 1
    return False


def unavailable_message() -> str:
    return _("The service is briefly unavailable. Please try again in a few seconds.")


def unavailable_body() -> dict[str, dict[str, object]]:
    return {"error": {"code": UNAVAILABLE_CODE, "message": unavailable_message(), "fields": {}}}


def service_unavailable(request: HttpRequest) -> HttpResponse:
    """503 with Retry-After: JSON in the API's shape for machines (/api/, /jitsi/), a page for people.
    Rendered without the request's context, as the 500 page is: nothing here may need the database."""
    response: HttpResponse
    if request.path.startswith(MACHINE_PREFIXES):
        response = JsonResponse(unavailable_body(), status=503)
    else:
        try:
            body = loader.get_template("503.html").render({"message": unavailable_message()})
        except Exception:  # the page must answer even when its template cannot render (static files, disk)
            logger.exception("The 503 page could not be rendered")
            body = f"<!doctype html><title>503</title><h1>{unavailable_message()}</h1>"
        response = HttpResponse(body, status=503)
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


class QuietDatabaseOutage(logging.Filter):
    """On django.request: a request answered 503 because PostgreSQL is away is logged as one warning line,
    not an error with a traceback per request (the outage itself is logged once by portal.database)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and database_unavailable(record.exc_info[1]):
            record.exc_info = None
            record.exc_text = None
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        elif getattr(record, "status_code", None) == 503 and not record.exc_info:
            # Django logs every 5xx answer as an error; a 503 is a deliberate "try again", not a failure.
            record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True
