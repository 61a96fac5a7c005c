"""djangosaml2's SAML session cookie, always SameSite=None and Secure.

The cookie has to cross the IdP's cross-site POST to the ACS, so it is SameSite=None, and browsers drop
SameSite=None cookies that are not Secure. djangosaml2 copies `secure` from SESSION_COOKIE_SECURE, which is
off in development (plain http); Chromium keeps Secure cookies on http://localhost, so forcing it works there
as well as behind TLS."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from djangosaml2.middleware import SamlSessionMiddleware


class SecureSamlSessionMiddleware(SamlSessionMiddleware):
    def process_response(self, request: HttpRequest, response: HttpResponse) -> Any:
        response = super().process_response(request, response)
        cookie = response.cookies.get(self.cookie_name)
        if cookie is not None:
            cookie["secure"] = True
            cookie["samesite"] = str(getattr(settings, "SAML_SESSION_COOKIE_SAMESITE", "None"))
        return response
