"""Where a SAML sign-in ends: the person's page on success, a page saying what happened when refused."""

from __future__ import annotations

import base64
import binascii
import logging
from typing import Any
from urllib.parse import urlsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, ElementTree
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from djangosaml2.exceptions import IdPConfigurationMissing
from djangosaml2.utils import available_idps, validate_referral_url
from djangosaml2.views import AssertionConsumerServiceView, LoginView, LogoutInitView, LogoutView
from saml2 import SAMLError
from saml2.mdstore import TooOld
from saml2.response import (
    DecryptionFailed,
    IncorrectlySigned,
    StatusError,
    UnsolicitedResponse,
    VerificationError,
)
from saml2.s_utils import UnknownSystemEntity, UnravelError
from saml2.sigver import MissingKey, SignatureError, SigverError
from saml2.validate import ResponseLifetimeExceed, ToEarly

from tenants import saml_config
from tenants.identity import SignInRefused

logger = logging.getLogger(__name__)

SAML_PATHS = ("/saml2/", "/dev-idp/")
DS = "http://www.w3.org/2000/09/xmldsig#"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
# What a person is told to wait before trying again while the federation's metadata is missing or expired.
RETRY_AFTER_SECONDS = 600


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
    """settings.SAML_ACS_FAILURE_RESPONSE_FUNCTION: always a readable 403, never a stack trace.

    The log line names the reason and the IdP, never what the response says about the person."""
    refused = getattr(request, "saml_refusal", None)
    context: dict[str, Any] = {"contact": support_contact()}
    if isinstance(refused, SignInRefused):
        # Signing in again would end the same way: no button, just whom to ask.
        context.update(title=str(refused.title), message=str(refused.message), refusal_code=refused.code)
        issuer = refused.details.get("issuer", "")
        details = {key: value for key, value in refused.details.items() if key != "issuer"}
    else:
        title, message = explain(exception)
        context.update(
            title=title,
            message=message,
            refusal_code=type(exception).__name__ if exception is not None else "unknown",
            action_url=reverse("saml2_login"),
            action_label=_("Sign in again"),
        )
        issuer, details = claimed_issuer(request), {}
    logger.warning(
        "SAML sign-in refused: reason=%s idp=%s%s",
        context["refusal_code"],
        issuer or "-",
        "".join(f" {key}={value}" for key, value in sorted(details.items())),
    )
    return render(request, "refused.html", context, status=403)


def posted_response(request: HttpRequest) -> Element | None:
    """The posted SAMLResponse (or SAMLRequest) as XML, parsed once; not verified, so only for choosing a
    refusal page."""
    if not hasattr(request, "saml_posted_xml"):
        root: Element | None = None
        try:
            message = request.POST.get("SAMLResponse") or request.POST.get("SAMLRequest") or ""
            data = base64.b64decode(message, validate=False)
            root = ElementTree.fromstring(data) if data.strip() else None
        except (binascii.Error, ValueError, ParseError, DefusedXmlException):
            root = None
        request.saml_posted_xml = root  # type: ignore[attr-defined]
    return request.saml_posted_xml  # type: ignore[attr-defined, no-any-return]


def claimed_issuer(request: HttpRequest) -> str:
    """The IdP a posted response claims to come from (unverified; for logs and pages only)."""
    root = posted_response(request) if request.method == "POST" else None
    issuer = root.find(f"{{{SAML}}}Issuer") if root is not None else None
    text = (issuer.text or "").strip()[:500] if issuer is not None else ""
    return "".join(char for char in text if char.isprintable())  # no forged log lines


def weak_algorithms(root: Element) -> list[str]:
    """Signature and digest algorithms below SHA-256 in any signature of the response.

    pysaml2 has no setting for the algorithms it accepts when verifying, so they are checked here first."""
    weak = []
    for signed_info in root.iter(f"{{{DS}}}SignedInfo"):
        for method in signed_info.iter(f"{{{DS}}}SignatureMethod"):
            if method.get("Algorithm") not in saml_config.STRONG_SIGNATURES:
                weak.append(str(method.get("Algorithm")))
        for method in signed_info.iter(f"{{{DS}}}DigestMethod"):
            if method.get("Algorithm") not in saml_config.STRONG_DIGESTS:
                weak.append(str(method.get("Algorithm")))
    return weak


def unavailable(request: HttpRequest) -> HttpResponse:
    """503: the federation's metadata is missing, unusable or expired (README, "Federation metadata")."""
    response = render(
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
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def institution_unavailable(request: HttpRequest, entity_id: str) -> HttpResponse:
    """503 for one IdP whose own metadata expired: never "unknown", never another institution's sign-in."""
    name = saml_config.expired_idps().get(entity_id) or entity_id
    logger.warning("SAML sign-in unavailable: reason=idp_metadata_expired idp=%s", entity_id)
    response = render(
        request,
        "refused.html",
        {
            "title": _("Sign-in is temporarily unavailable"),
            "message": _(
                "Sign-in through %(institution)s is temporarily unavailable because auditorium's information "
                "about it has expired. Please try again later."
            )
            % {"institution": name},
            "contact": str(getattr(settings, "SAML_SUPPORT_CONTACT", "") or _("the portal's operators")),
        },
        status=503,
    )
    response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def weak_signature(request: HttpRequest, *, issuer: str, algorithms: list[str], status: int) -> HttpResponse:
    logger.warning(
        "SAML message refused: reason=weak_signature_algorithm idp=%s algorithms=%s",
        issuer or "-",
        ",".join(sorted(set(algorithms))),
    )
    return render(
        request,
        "refused.html",
        {
            "title": _("Sign-in could not be verified"),
            "message": _(
                "Your identity provider signed its message with an outdated method (such as SHA-1) that "
                "auditorium no longer accepts."
            ),
            "contact": support_contact(),
        },
        status=status,
    )


class TolerantMixin:
    """Missing or expired federation metadata (the import cron stopped) is a clear 503, not a stack trace."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc, no-any-return]
        except (saml_config.FederationUnavailable, TooOld, IdPConfigurationMissing) as exc:
            logger.error(
                "SAML metadata missing or expired (%s); run manage.py import_federation_metadata", exc
            )
            return self.federation_unavailable(request)

    def federation_unavailable(self, request: HttpRequest) -> HttpResponse:
        return unavailable(request)


class SignInView(TolerantMixin, LoginView):
    """djangosaml2's login, with our pages for an unknown IdP and an IdP whose metadata expired."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            selected = request.GET.get("idp", "")
            expired = saml_config.expired_idps()
            if selected and selected in expired:
                return institution_unavailable(request, selected)
            if not selected and expired and not getattr(settings, "SAML2_DISCO_URL", ""):
                # djangosaml2 would send everyone to the only IdP left: let people see theirs is unavailable.
                return self.choose_idp(request, expired)
        return super().get(request, *args, **kwargs)  # type: ignore[no-any-return]

    def choose_idp(self, request: HttpRequest, expired: Any) -> HttpResponse:
        available = available_idps(saml_config.load_config())
        next_url = request.GET.get("next", "")
        return render(
            request,
            "saml/choose_idp.html",
            {
                "available": sorted(available.items(), key=lambda item: str(item[1] or item[0])),
                "unavailable": sorted(expired.items(), key=lambda item: str(item[1])),
                "login_url": reverse("saml2_login"),
                "next": next_url if validate_referral_url(request, next_url) else "",
            },
        )

    def unknown_idp(self, request: HttpRequest, idp: str) -> HttpResponse:
        logger.warning("sign-in requested for unknown IdP %r", idp)
        title, message = explain(UnknownSystemEntity(idp))
        return render(
            request,
            "refused.html",
            {"title": title, "message": message, "contact": support_contact()},
            status=403,
        )


@require_GET
def sp_metadata(request: HttpRequest) -> HttpResponse:
    """The SP's metadata, built without IdP metadata: published whatever state the federation is in."""
    return HttpResponse(saml_config.sp_metadata_xml(), content_type="text/xml; charset=utf-8")


class SignOutView(TolerantMixin, LogoutInitView):
    """Without usable metadata there is no single logout: sign out of auditorium at least."""

    def federation_unavailable(self, request: HttpRequest) -> HttpResponse:
        auth.logout(request)
        return HttpResponseRedirect(resolve_url(settings.LOGOUT_REDIRECT_URL))


class LogoutServiceView(TolerantMixin, LogoutView):
    """djangosaml2's single logout endpoint, with a 503 page while the metadata is unusable, refusing
    SHA-1 signatures (the HTTP-Redirect binding's SigAlg, or the posted message's XML signature)."""

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        sigalg = request.GET.get("SigAlg", "") if request.method == "GET" else ""
        weak = [sigalg] if sigalg and sigalg not in saml_config.STRONG_SIGNATURES else []
        root = posted_response(request) if request.method == "POST" else None
        if root is not None:
            weak += weak_algorithms(root)
        if weak:
            return weak_signature(request, issuer=claimed_issuer(request), algorithms=weak, status=400)
        try:
            return super().dispatch(request, *args, **kwargs)
        except (UnravelError, SAMLError, ValueError) as exc:
            # An unreadable or unverifiable logout message: a page, not a stack trace.
            logger.warning("SAML logout message refused: reason=%s", type(exc).__name__)
            return render(
                request,
                "refused.html",
                {
                    "title": _("Sign-out request refused"),
                    "message": _("The sign-out message could not be read or verified."),
                    "contact": support_contact(),
                },
                status=400,
            )


# The IdP's cross-site POST carries no CSRF token (djangosaml2 exempts its own dispatch; ours replaces it).
@method_decorator(csrf_exempt, name="dispatch")
class AcsView(TolerantMixin, AssertionConsumerServiceView):
    """djangosaml2's ACS, landing on a safe `next` or on the tenant the person signed in to.

    The released preferredLanguage is kept on the user (tenants/identity.py); tenants/language.py reads it
    after the person's own choice, so it sets no cookie that would outlive the session."""

    def post(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        early = self.early_refusal(request)
        if early is not None:
            return early
        response: HttpResponse = super().post(request, *args, **kwargs)
        return response

    def early_refusal(self, request: HttpRequest) -> HttpResponse | None:
        """What pysaml2 cannot be told to refuse, or would refuse with a misleading reason."""
        root = posted_response(request)
        if root is None:
            return None  # djangosaml2 answers unreadable input itself
        issuer = claimed_issuer(request)
        if issuer and issuer in saml_config.expired_idps():
            return institution_unavailable(request, issuer)
        weak = weak_algorithms(root)
        if weak:
            return weak_signature(request, issuer=issuer, algorithms=weak, status=403)
        return None

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
