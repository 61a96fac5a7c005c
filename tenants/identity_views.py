"""Where a SAML sign-in ends: the person's page on success, a page saying what happened when refused."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from djangosaml2.exceptions import IdPConfigurationMissing
from djangosaml2.utils import validate_referral_url
from djangosaml2.views import AssertionConsumerServiceView, LoginView
from saml2.mdstore import TooOld
from saml2.response import (
    DecryptionFailed,
    IncorrectlySigned,
    StatusError,
    UnsolicitedResponse,
    VerificationError,
)
from saml2.s_utils import UnknownSystemEntity
from saml2.sigver import MissingKey, SignatureError, SigverError
from saml2.validate import ResponseLifetimeExceed, ToEarly

from tenants.identity import SignInRefused

logger = logging.getLogger(__name__)

SAML_PATHS = ("/saml2/", "/dev-idp/")


def support_contact() -> str:
    return str(getattr(settings, "SAML_SUPPORT_CONTACT", "") or _("your institution's IT service desk"))


def explain(exception: Any) -> tuple[str, str]:
    """A title and message for a refused response, by what pysaml2 or djangosaml2 raised."""
    if isinstance(exception, UnsolicitedResponse):
        return _("Sign-in not started here"), _(
            "This sign-in response does not belong to a sign-in started in this browser, or it was "
            "already used. Please start signing in again."
        )
    if isinstance(exception, ResponseLifetimeExceed | ToEarly):
        return _("Sign-in expired"), _(
            "The sign-in response has expired or is not valid yet. Check your computer's clock and "
            "sign in again."
        )
    if isinstance(exception, UnknownSystemEntity | MissingKey):
        # MissingKey: the metadata holds no key for the issuer, i.e. an IdP auditorium does not know.
        return _("Unknown identity provider"), _(
            "The sign-in came from an identity provider that auditorium does not know."
        )
    if isinstance(
        exception,
        SignatureError | IncorrectlySigned | SigverError | VerificationError | DecryptionFailed,
    ):
        return _("Sign-in could not be verified"), _(
            "The sign-in response was not signed by an identity provider auditorium trusts, or it was "
            "changed on the way. Please sign in again."
        )
    if isinstance(exception, StatusError):
        return _("Sign-in cancelled by your identity provider"), _(
            "Your identity provider did not confirm the sign-in."
        )
    return _("Sign-in refused"), _("Your sign-in could not be accepted. Please sign in again.")


def acs_failure(
    request: HttpRequest, exception: Any = None, status: int = 403, **kwargs: Any
) -> HttpResponse:
    """settings.SAML_ACS_FAILURE_RESPONSE_FUNCTION: always a readable 403, never a stack trace."""
    refused = getattr(request, "saml_refusal", None)
    context: dict[str, Any] = {"contact": support_contact()}
    if isinstance(refused, SignInRefused):
        # Signing in again would end the same way: no button, just whom to ask.
        context.update(title=str(refused.title), message=str(refused.message), refusal_code=refused.code)
    else:
        title, message = explain(exception)
        context.update(
            title=title,
            message=message,
            refusal_code=type(exception).__name__ if exception is not None else "unknown",
            action_url=reverse("saml2_login"),
            action_label=_("Sign in again"),
        )
    logger.info("SAML sign-in refused (%s)", context["refusal_code"])
    return render(request, "refused.html", context, status=403)


def unavailable(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "refused.html",
        {
            "title": _("Sign-in is temporarily unavailable"),
            "message": _(
                "auditorium's list of trusted identity providers is missing or has expired. "
                "Please try again later."
            ),
            "contact": str(getattr(settings, "SAML_SUPPORT_CONTACT", "") or _("the portal's operators")),
        },
        status=503,
    )


class TolerantMixin:
    """Expired federation metadata (the import cron stopped) is a clear 503, not a stack trace."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc, no-any-return]
        except (TooOld, IdPConfigurationMissing):
            logger.exception("SAML metadata missing or expired; run manage.py import_federation_metadata")
            return unavailable(request)


class SignInView(TolerantMixin, LoginView):
    """djangosaml2's login, with our page for an IdP that is not in the metadata."""

    def unknown_idp(self, request: HttpRequest, idp: str) -> HttpResponse:
        logger.warning("sign-in requested for unknown IdP %r", idp)
        title, message = explain(UnknownSystemEntity(idp))
        return render(
            request,
            "refused.html",
            {"title": title, "message": message, "contact": support_contact()},
            status=403,
        )


# The IdP's cross-site POST carries no CSRF token (djangosaml2 exempts its own dispatch; ours replaces it).
@method_decorator(csrf_exempt, name="dispatch")
class AcsView(TolerantMixin, AssertionConsumerServiceView):
    """djangosaml2's ACS, landing on a safe `next` or on the tenant the person signed in to.

    The released preferredLanguage is kept on the user (tenants/identity.py); tenants/language.py reads it
    after the person's own choice, so it sets no cookie that would outlive the session."""

    def custom_redirect(self, user: Any, relay_state: str, session_info: Any) -> str | None:
        safe = validate_referral_url(self.request, relay_state) if relay_state else None
        fallback = str(settings.LOGIN_REDIRECT_URL)
        # A `next` back into the SAML machinery (the "Sign in" link of a refusal page) is no destination.
        if safe and safe != fallback and not urlsplit(str(safe)).path.startswith(SAML_PATHS):
            return str(safe)
        tenant = getattr(self.request, "saml_tenant", None)
        if tenant is not None:
            return reverse("tenant_home", kwargs={"tenant": tenant.slug})
        return None
