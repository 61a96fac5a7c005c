"""A request handler for Prosody's calls: `/jitsi/<deployment>/...` (events, branding, public keys).

Those requests carry no session, cookie, CSRF token or language choice, and at the start of a lecture the
events come by the hundred per second. The portal's middleware (sessions, locale, CSRF, authentication,
SAML session, messages, tenants) does nothing for them but costs about a quarter of an event's CPU, so they
run through Django's own handler with SecurityMiddleware alone (its headers and HTTPS redirect, as on every
other response). The views are the same; under the test client and Daphne they run through the full stack.

The handler resolves with its own URL configuration (portal/machine_urls.py, Prosody's routes only), so a
tenant page (`/jitsi/rooms/` read as tenant "jitsi") can never run here without the middleware it needs:
everything else under /jitsi/ is a 404.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, HttpResponseBase
from django.middleware.security import SecurityMiddleware
from django.utils import translation

from portal.adapters.django import load_fixed_chain
from portal.adapters.django_scopes import request_scope

MACHINE_PREFIX = "/jitsi/"
MACHINE_URLCONF = "portal.machine_urls"


class MachineWSGIHandler(WSGIHandler):
    def get_response(self, request: HttpRequest) -> HttpResponseBase:
        # request.urlconf: Django's documented per-request URL configuration (as a middleware would set it).
        request.urlconf = MACHINE_URLCONF
        # No LanguageMiddleware here: answer in the site's language, never in one a page left active in
        # this thread (tenants/language.py picks the same for /jitsi/ through the full stack).
        translation.activate(settings.LANGUAGE_CODE)
        with request_scope():  # no tenant scope until a view enters the deployment's tenant's
            return super().get_response(request)

    def load_middleware(self, is_async: bool = False) -> None:
        # SecurityMiddleware alone (its headers and HTTPS redirect), through the Django adapter.
        load_fixed_chain(self, SecurityMiddleware)


class PathDispatch:
    """The portal's WSGI application, with `/jitsi/` handed to MachineWSGIHandler."""

    def __init__(self, portal: Any, machines: Any) -> None:
        self.portal = portal
        self.machines = machines

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO", "").startswith(MACHINE_PREFIX):
            return self.machines(environ, start_response)
        return self.portal(environ, start_response)
