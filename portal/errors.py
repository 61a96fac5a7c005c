"""The portal's answers when something unexpected fails: the 500 page, and the API's JSON error for /api/.

`server_error` is `handler500`. It renders without the request's context (no context processors, no session,
user, tenant or database), so it answers even when the database is what failed. Machine paths (/api/, /jitsi/)
get the API's error shape as JSON; people get a page in the portal's look. Neither says what failed: the
traceback is in the server log (Django logs it as `django.request`; the API's handler logs its own)."""

from __future__ import annotations

import logging

from django.http import HttpRequest, HttpResponse, HttpResponseServerError, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

MACHINE_PREFIXES = ("/api/", "/jitsi/")
SERVER_ERROR_CODE = "server_error"


def server_error_message() -> str:
    return _("Something went wrong on our side. Please try again in a moment.")


def server_error_body() -> dict[str, dict[str, object]]:
    return {"error": {"code": SERVER_ERROR_CODE, "message": server_error_message(), "fields": {}}}


def server_error(request: HttpRequest) -> HttpResponse:
    if request.path.startswith(MACHINE_PREFIXES):
        return JsonResponse(server_error_body(), status=500)
    try:
        body = loader.get_template("500.html").render({"message": server_error_message()})
    except Exception:  # the page must answer even when its template cannot render (static files, disk)
        logger.exception("The 500 page could not be rendered")
        body = f"<!doctype html><title>500</title><h1>{server_error_message()}</h1>"
    return HttpResponseServerError(body)
