"""Pages of the development IdP: pick a demo person, get signed in. Only with settings.PORTAL_DEV_IDP."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import Any

import saml2
from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from tenants.access import refusal
from tenants.dev_idp import idp

logger = logging.getLogger(__name__)


def dev_only(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Checked per request, so the IdP is unreachable whenever PORTAL_DEV_IDP is off."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not settings.PORTAL_DEV_IDP:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapper


@dev_only
@require_GET
def metadata(request: HttpRequest) -> HttpResponse:
    return HttpResponse(idp.idp_metadata_xml(), content_type="application/samlmetadata+xml")


@dev_only
@require_http_methods(["GET", "POST"])
def sso(request: HttpRequest) -> HttpResponse:
    """GET: an AuthnRequest arrives (HTTP-Redirect), show the demo people. POST: answer for the chosen one."""
    data = request.GET if request.method == "GET" else request.POST
    saml_request = data.get("SAMLRequest", "")
    relay_state = data.get("RelayState", "")
    # The GET carries the deflated redirect encoding; the form posts the same string back unchanged.
    binding = saml2.BINDING_HTTP_REDIRECT
    if not saml_request:
        return refusal(
            request,
            title=_("No sign-in request"),
            message=_("Start signing in from auditorium's “Sign in” link."),
            status=400,
        )
    if request.method == "GET":
        try:
            idp.get_server().parse_authn_request(saml_request, binding)
        except Exception:
            logger.warning("development IdP: unreadable AuthnRequest", exc_info=True)
            return refusal(
                request,
                title=_("Unreadable sign-in request"),
                message=_("The sign-in request could not be read. Start again from auditorium."),
                status=400,
            )
        return render(
            request,
            "dev_idp/choose.html",
            {"users": idp.USERS.values(), "saml_request": saml_request, "relay_state": relay_state},
        )
    user = idp.USERS.get(data.get("username", ""))
    if user is None:
        return refusal(
            request, title=_("Unknown person"), message=_("Choose one of the listed people."), status=400
        )
    try:
        destination, fields = idp.respond(request_xml=saml_request, binding=binding, user=user)
    except Exception:
        logger.warning("development IdP: could not answer the AuthnRequest", exc_info=True)
        return refusal(
            request,
            title=_("Unreadable sign-in request"),
            message=_("The sign-in request could not be answered. Start again from auditorium."),
            status=400,
        )
    if relay_state:
        fields["RelayState"] = relay_state
    return render(request, "dev_idp/post.html", {"destination": destination, "fields": fields})


@dev_only
@require_GET
def slo(request: HttpRequest) -> HttpResponse:
    """Single logout: the SP's signed LogoutRequest arrives; answer with a signed LogoutResponse."""
    if "SAMLRequest" not in request.GET:
        return refusal(request, title=_("No sign-out request"), message=_("Nothing to sign out."), status=400)
    try:
        location = idp.logout(query={key: request.GET[key] for key in request.GET})
    except Exception:
        logger.warning("development IdP: refused a LogoutRequest", exc_info=True)
        return refusal(
            request,
            title=_("Sign-out request refused"),
            message=_("The sign-out request could not be verified. You are still signed out of auditorium."),
            status=400,
        )
    return redirect(location)
