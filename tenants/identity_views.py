"""Where a SAML sign-in ends: the person's page on success, a page saying what happened when refused."""

from __future__ import annotations

import base64
import binascii
import logging
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote, urlsplit
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, ElementTree
from django.conf import settings
from django.contrib import auth
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render, resolve_url
from django.urls import reverse
from django.utils.decorators import method_decorator
from django.utils.translation import get_language
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
    StatusInvalidAuthnResponseStatement,
    UnsolicitedResponse,
    VerificationError,
)
from saml2.s_utils import UnknownSystemEntity, UnravelError
from saml2.sigver import MissingKey, SignatureError, SigverError
from saml2.validate import ResponseLifetimeExceed, ToEarly

from tenants import saml_config
from tenants.identity import SignInRefused
from tenants.models import Tenant

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
        SignatureError
        | IncorrectlySigned
        | SigverError
        | VerificationError
        | DecryptionFailed
        | StatusInvalidAuthnResponseStatement,
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
        request.saml_posted_xml = root  # type: ignore[attr-defined]  # the portal's memo of the parsed body on Django's request
    return request.saml_posted_xml  # type: ignore[attr-defined]  # idem


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
            return super().dispatch(request, *args, **kwargs)  # type: ignore[misc]  # a mixin: the view class it is mixed into has dispatch
        except (saml_config.FederationUnavailable, TooOld, IdPConfigurationMissing) as exc:
            logger.error(
                "SAML metadata missing or expired (%s); run manage.py import_federation_metadata", exc
            )
            return self.federation_unavailable(request)

    def federation_unavailable(self, request: HttpRequest) -> HttpResponse:
        return unavailable(request)


class SignInView(TolerantMixin, LoginView):
    """djangosaml2's login with our own discovery page (README, "Choosing the identity provider").

    `?idp=<entity ID>` goes straight to that IdP; `?tenant=<slug>` offers only the tenant's allowed IdPs and
    goes straight to the IdP when it allows one; otherwise the SAML discovery service (SAML_DISCO_URL) or our
    page chooses. The last IdP chosen is remembered in a cookie and offered first next time."""

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if request.user.is_authenticated:
            return super().get(request, *args, **kwargs)
        selected = request.GET.get("idp", "")
        if selected:
            return self.sign_in_at(request, selected)
        expired = saml_config.expired_idps()
        config = saml_config.load_config()
        known = available_idps(config)
        tenant = requested_tenant(request)
        allowed = allowed_idps_of(tenant) & (set(known) | set(expired))
        if len(allowed) == 1:
            return self.sign_in_at(request, next(iter(allowed)))
        if allowed:
            known = {entity_id: name for entity_id, name in known.items() if entity_id in allowed}
            expired = {entity_id: name for entity_id, name in expired.items() if entity_id in allowed}
        elif getattr(settings, "SAML2_DISCO_URL", ""):
            return super().get(request, *args, **kwargs)
        if not known and not expired:
            raise IdPConfigurationMissing("no IdP in the metadata")
        if len(known) == 1 and not expired:
            return self.sign_in_at(request, next(iter(known)))
        return self.choose_idp(request, config, known, expired, tenant=tenant if allowed else None)

    def sign_in_at(self, request: HttpRequest, entity_id: str) -> HttpResponse:
        """Start the sign-in at one IdP (djangosaml2 reads it from `idp=`); remember it when it goes there."""
        if len(entity_id) > MAX_ENTITY_ID or not entity_id.isprintable():
            logger.warning("sign-in requested for an unreadable IdP (%d characters)", len(entity_id))
            return render(
                request,
                "refused.html",
                {
                    "title": _("Unknown identity provider"),
                    "message": _("The sign-in link names an identity provider that cannot be valid."),
                    "contact": support_contact(),
                },
                status=400,
            )
        if entity_id in saml_config.expired_idps():
            return institution_unavailable(request, entity_id)
        if entity_id not in available_idps(saml_config.load_config()):
            return self.unknown_idp(request, entity_id)
        if request.GET.get("idp") != entity_id:
            query = request.GET.copy()
            query["idp"] = entity_id
            request.GET = query  # type: ignore[assignment]  # djangosaml2 reads the IdP from request.GET
        response: HttpResponse = super().get(request)
        if response.status_code < 400:
            response.set_cookie(
                IDP_COOKIE,
                quote(entity_id, safe=""),
                max_age=IDP_COOKIE_AGE,
                path=reverse("saml2_login"),
                secure=settings.SESSION_COOKIE_SECURE,
                httponly=True,
                samesite="Lax",
            )
        return response

    def choose_idp(
        self,
        request: HttpRequest,
        config: Any,
        known: Mapping[str, Any],
        expired: Mapping[str, str],
        *,
        tenant: Tenant | None,
    ) -> HttpResponse:
        """Our discovery page: sorted by display name in the page's language, filtered by `q` (and, with
        JavaScript, as one types), the remembered IdP first."""
        language = get_language() or settings.LANGUAGE_CODE
        query = request.GET.get("q", "")[:200]
        words = folded(query).split()
        choices = [
            IdPChoice(
                entity_id, name, folded(" ".join([name, *other_names(config, entity_id, name), entity_id]))
            )
            for entity_id, name in ((eid, idp_name(config, eid, language)) for eid in known)
        ]
        choices.sort(key=lambda choice: (folded(choice.name), choice.entity_id))
        remembered = unquote(request.COOKIES.get(IDP_COOKIE, ""))
        for index, choice in enumerate(choices):
            if choice.entity_id == remembered:
                choices.insert(0, replace(choices.pop(index), remembered=True))
                break
        unavailable = sorted(
            (
                IdPChoice(entity_id, name or entity_id, folded(f"{name} {entity_id}"))
                for entity_id, name in expired.items()
            ),
            key=lambda choice: folded(choice.name),
        )
        shown = [choice for choice in choices if all(word in choice.search for word in words)]
        next_url = request.GET.get("next", "")
        next_url = next_url if validate_referral_url(request, next_url) else ""
        return render(
            request,
            "saml/choose_idp.html",
            {
                "choices": shown,
                "unavailable": [c for c in unavailable if all(word in c.search for word in words)],
                "query": query,
                "login_url": reverse("saml2_login"),
                "next": next_url,
                "tenant": tenant,
            },
        )

    def unknown_idp(self, request: HttpRequest, idp: str) -> HttpResponse:
        logger.warning("sign-in requested for unknown IdP %r", idp[:MAX_ENTITY_ID])
        title, message = explain(UnknownSystemEntity(idp))
        return render(
            request,
            "refused.html",
            {"title": title, "message": message, "contact": support_contact()},
            status=403,
        )


# The discovery page's memory of the last IdP chosen (its entity ID, URL-quoted): a year, sent only to login.
IDP_COOKIE = "saml_idp"
IDP_COOKIE_AGE = 365 * 24 * 3600
# Entity IDs are URIs; SAML limits them to 1024 characters.
MAX_ENTITY_ID = 1024
SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")


@dataclass(frozen=True)
class IdPChoice:
    entity_id: str
    name: str
    search: str  # name and entity ID, case and accents folded: what the search field matches
    remembered: bool = False

    @property
    def host(self) -> str:
        return urlsplit(self.entity_id).hostname or self.entity_id


def folded(text: str) -> str:
    """Lower case without accents, so that "ecole" finds "École" (the same folding as idp-filter.js)."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(char for char in decomposed if not unicodedata.combining(char)).casefold()


def idp_name(config: Any, entity_id: str, language: str) -> str:
    """OrganizationDisplayName in the page's language, else English, else any, else the entity ID."""
    metadata = config.metadata
    for lang in (language.split("-")[0], "en"):
        name = metadata.name(entity_id, lang)
        if name:
            return str(name)
    try:
        names = metadata[entity_id]["organization"]["organization_display_name"]
        return str(names[0]["text"])
    except (KeyError, IndexError, TypeError):
        return entity_id


def other_names(config: Any, entity_id: str, shown: str) -> list[str]:
    """The entity's display names in other languages: a search for "Zürich" finds "University of Zurich"."""
    try:
        names = config.metadata[entity_id]["organization"]["organization_display_name"]
        texts = [str(item["text"]) for item in names]
    except (KeyError, TypeError):
        return []
    return [text for text in dict.fromkeys(texts) if text != shown]


def allowed_idps_of(tenant: Tenant | None) -> set[str]:
    entries = tenant.allowed_idps if tenant is not None else []
    return {entry for entry in entries if isinstance(entry, str)} if isinstance(entries, list) else set()


def requested_tenant(request: HttpRequest) -> Tenant | None:
    """The active tenant named by `?tenant=`; anything else (unknown, malformed) is ignored."""
    slug = request.GET.get("tenant", "")
    if not SLUG.fullmatch(slug):
        return None
    return Tenant.objects.filter(slug=slug, is_active=True).first()


@require_GET
def sp_metadata(request: HttpRequest) -> HttpResponse:
    """The SP's metadata, built without IdP metadata: published whatever state the federation is in."""
    return HttpResponse(saml_config.sp_metadata_xml(), content_type="text/xml; charset=utf-8")


class SignOutView(TolerantMixin, LogoutInitView):
    """Without usable metadata there is no single logout: sign out of auditorium at least. The same for a
    session without a SAML identity (signed in another way, or its SAML cookie gone): djangosaml2 would hand
    pysaml2 no name and answer 500."""

    def federation_unavailable(self, request: HttpRequest) -> HttpResponse:
        auth.logout(request)
        return HttpResponseRedirect(resolve_url(settings.LOGOUT_REDIRECT_URL))

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        _state, client = self.get_state_client(request)
        if not client.users.subjects():
            return self.federation_unavailable(request)
        return super().get(request, *args, **kwargs)


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
        try:
            response: HttpResponse = super().post(request, *args, **kwargs)
        except StatusInvalidAuthnResponseStatement as exc:
            # pysaml2 accepts a response whose assertion no key of ours decrypts (encrypted to a retired SP
            # certificate) and fails only when djangosaml2 asks for its content, past its error handling.
            return acs_failure(request, exception=exc)
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
