"""The djangosaml2 backend: who an assertion names, and their tenant and role (CONTRACTS.md §4).

pysaml2 has verified the response (signature, audience, lifetime, InResponseTo) before we get here. What it
does not check is that the IdP may speak for the home organisation and scoped values it asserts: that is done
here against the IdP's <shibmd:Scope> values in its verified metadata, and against the tenant's allowed IdPs.
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from djangosaml2.backends import Saml2Backend

from tenants import services
from tenants.hotcache import CachedUserMixin
from tenants.models import ExternalIdentity, HomeOrganization, Membership, Tenant, User
from tenants.saml_config import load_config

logger = logging.getLogger(__name__)

# The stable keys, best first. Never ePPN, mail or the (transient) NameID.
KEY_ATTRIBUTES: tuple[str, ...] = (
    ExternalIdentity.Kind.SUBJECT_ID,
    ExternalIdentity.Kind.SWISS_UNIQUE_ID,
    ExternalIdentity.Kind.EDU_UNIQUE_ID,
    ExternalIdentity.Kind.PAIRWISE_ID,
)
HOME_ORG_ATTRIBUTES = ("swissEduPersonHomeOrganization", "schacHomeOrganization")
HOST_AFFILIATIONS = frozenset({"faculty", "staff", "employee"})
KNOWN_AFFILIATIONS = HOST_AFFILIATIONS | {"student", "member", "affiliate", "alum", "library-walk-in"}


@dataclass
class SignInRefused(Exception):
    """A verified response we still do not accept. `code` names the case for logs and tests."""

    code: str
    title: str | Promise
    message: str | Promise
    details: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.code}: {self.details}"


@dataclass(frozen=True)
class Scope:
    text: str
    regexp: bool = False

    def matches(self, value: str) -> bool:
        if self.regexp:
            return re.fullmatch(self.text, value, flags=re.IGNORECASE) is not None
        return value.lower() == self.text.lower()


@dataclass(frozen=True)
class Identity:
    """What one verified assertion says about a person, after the scope rules were applied."""

    issuer: str
    tenant: Tenant
    home_organization: str
    identifiers: list[tuple[str, str]]
    role: str
    first_name: str
    last_name: str
    display_name: str
    email: str
    preferred_language: str
    affiliations: list[str]


def idp_scopes(issuer: str) -> list[Scope]:
    """The issuing IdP's <shibmd:Scope> values from the SP's (verified) metadata."""
    metadata = load_config().metadata
    scopes = []
    for item in metadata.shibmd_scopes(issuer, typ="idpsso_descriptor"):
        text = item["text"]
        scopes.append(Scope(text=text.pattern if item["regexp"] else text, regexp=bool(item["regexp"])))
    return scopes


def in_scope(value: str, scopes: Iterable[Scope]) -> bool:
    return any(scope.matches(value) for scope in scopes)


def first(attributes: Mapping[str, Sequence[str]], name: str) -> str:
    for value in attributes.get(name) or []:
        if isinstance(value, str) and value.strip():
            return value.strip()
    return ""


def read_identity(*, issuer: str, attributes: Mapping[str, Sequence[str]]) -> Identity:
    """Apply CONTRACTS §4 to verified attributes; raise SignInRefused when they cannot be accepted."""
    scopes = idp_scopes(issuer)
    home_org = ""
    for name in HOME_ORG_ATTRIBUTES:
        home_org = first(attributes, name).lower()
        if home_org:
            break
    if not home_org:
        raise SignInRefused(
            "no_home_organization",
            _("Your institution is not known"),
            _("Your identity provider did not tell us which institution you belong to."),
            {"issuer": issuer},
        )
    if not in_scope(home_org, scopes):
        raise SignInRefused(
            "home_organization_out_of_scope",
            _("Institution not confirmed"),
            _(
                "Your identity provider may not speak for the institution “%(org)s”, so the sign-in was "
                "refused. Please sign in with your institution's own account."
            )
            % {"org": home_org},
            {"issuer": issuer, "home_organization": home_org},
        )
    home = (
        HomeOrganization.objects.select_related("tenant")
        .filter(domain=home_org, tenant__is_active=True)
        .first()
    )
    if home is None:
        raise SignInRefused(
            "unknown_home_organization",
            _("Your institution does not use auditorium"),
            _("Your institution “%(org)s” is not set up in auditorium.") % {"org": home_org},
            {"issuer": issuer, "home_organization": home_org},
        )
    tenant = home.tenant
    if issuer not in (tenant.allowed_idps or []):
        raise SignInRefused(
            "idp_not_allowed",
            _("Sign-in method not accepted"),
            _("%(tenant)s does not accept sign-ins through this identity provider.")
            % {"tenant": tenant.name},
            {"issuer": issuer, "tenant": tenant.slug},
        )

    identifiers = []
    for kind in KEY_ATTRIBUTES:
        value = first(attributes, kind)
        if not value:
            continue
        # Identifiers of the form local@scope are scoped values: the IdP must own the scope.
        if "@" in value and not in_scope(value.rsplit("@", 1)[1], scopes):
            raise SignInRefused(
                "identifier_out_of_scope",
                _("Identity not confirmed"),
                _("Your identity provider sent an identifier outside its own domain."),
                {"issuer": issuer, "kind": str(kind)},
            )
        identifiers.append((str(kind), value))
    if not identifiers:
        raise SignInRefused(
            "no_identifier",
            _("No stable identifier"),
            _(
                "Your identity provider did not release a stable identifier (subject-id or "
                "swissEduPersonUniqueID), which auditorium needs to recognise you."
            ),
            {"issuer": issuer},
        )

    affiliations = read_affiliations(attributes, scopes=scopes, home_org=home_org)
    entitlements = {str(value).strip() for value in attributes.get("eduPersonEntitlement") or []}
    if tenant.admin_entitlement and tenant.admin_entitlement in entitlements:
        role = Membership.Role.ADMIN
    elif HOST_AFFILIATIONS & set(affiliations):
        role = Membership.Role.HOST
    else:
        role = Membership.Role.MEMBER
    return Identity(
        issuer=issuer,
        tenant=tenant,
        home_organization=home_org,
        identifiers=identifiers,
        role=role,
        first_name=first(attributes, "givenName")[:150],
        last_name=first(attributes, "sn")[:150],
        display_name=first(attributes, "displayName")[:200],
        email=first(attributes, "mail")[:254],
        preferred_language=first(attributes, "preferredLanguage")[:16],
        affiliations=affiliations,
    )


def read_affiliations(
    attributes: Mapping[str, Sequence[str]], *, scopes: Sequence[Scope], home_org: str
) -> list[str]:
    """Unscoped affiliations, plus scoped ones of the home organisation within the IdP's scopes.

    A scoped value of another organisation (faculty@other.ch) grants nothing here, even when the IdP
    may speak for that organisation."""
    found: list[str] = []
    for value in attributes.get("eduPersonAffiliation") or []:
        found.append(str(value).strip().lower())
    for value in attributes.get("eduPersonScopedAffiliation") or []:
        local, _sep, scope = str(value).strip().lower().partition("@")
        if not scope or not in_scope(scope, scopes) or scope != home_org:
            logger.info("ignoring scoped affiliation %r outside %s", value, home_org)
            continue
        found.append(local)
    return sorted({value for value in found if value in KNOWN_AFFILIATIONS})


def new_username() -> str:
    """Opaque, never derived from ePPN or mail (both can be reassigned to someone else)."""
    return f"u-{uuid.uuid4().hex[:24]}"


class _LostRace(Exception):
    """Another request created this person between our lookup and our insert."""


def record_saml_sign_in(*, identity: Identity) -> tuple[User, Membership]:
    """Find or create the person an identity names, refresh their profile and membership. One transaction.

    When two first sign-ins of one person race, the loser's transaction is rolled back (no orphan user) and
    it runs again, finding the winner's user."""
    try:
        return _record_saml_sign_in(identity)
    except _LostRace:
        return _record_saml_sign_in(identity)


@transaction.atomic
def _record_saml_sign_in(identity: Identity) -> tuple[User, Membership]:
    now = timezone.now()
    known = {
        (row.kind, row.value): row
        for row in ExternalIdentity.objects.select_related("user").filter(
            issuer=identity.issuer, value__in=[value for _kind, value in identity.identifiers]
        )
    }
    user: User | None = None
    for kind, value in identity.identifiers:
        row = known.get((kind, value))
        if row is not None:
            user = row.user
            break
    if user is not None and not user.is_active:
        raise SignInRefused(
            "account_disabled",
            _("Your account is disabled"),
            _("Your auditorium account has been disabled."),
            {"issuer": identity.issuer},
        )
    created = user is None
    if user is None:
        user = User(username=new_username())
        user.set_unusable_password()
        user.save()
    for kind, value in identity.identifiers:
        row = known.get((kind, value))
        if row is None:
            try:
                with transaction.atomic():
                    ExternalIdentity.objects.create(
                        user=user, issuer=identity.issuer, kind=kind, value=value, last_seen_at=now
                    )
            except IntegrityError:
                if created:
                    raise _LostRace from None
                logger.warning("identifier %s of %s already belongs to someone else", kind, identity.issuer)
        elif row.user_id == user.pk:
            row.last_seen_at = now
            row.save(update_fields=["last_seen_at"])
        else:
            logger.warning("identifier %s of %s names another user; keeping the first", kind, identity.issuer)

    if not created and Membership.objects.filter(user=user, tenant=identity.tenant, is_blocked=True).exists():
        raise SignInRefused(
            "blocked",
            _("Your access is blocked"),
            _("An administrator of %(tenant)s has blocked your access to its meetings.")
            % {"tenant": identity.tenant.name},
            {"issuer": identity.issuer},
        )
    changed = []
    for name in ("first_name", "last_name", "display_name", "email", "preferred_language", "affiliations"):
        value = getattr(identity, name)
        if getattr(user, name) != value:
            setattr(user, name, value)
            changed.append(name)
    if changed:
        user.save(update_fields=changed)
    membership = services.record_sign_in(tenant=identity.tenant, user=user, role_from_idp=identity.role)
    return user, membership


class SamlIdentityBackend(CachedUserMixin, Saml2Backend):
    """Authenticates the person a verified SAML response names (djangosaml2 calls this after pysaml2).

    Its per-request user lookup is served from memory while the row is unchanged (tenants/hotcache.py)."""

    def authenticate(
        self,
        request: HttpRequest | None,
        session_info: dict[str, Any] | None = None,
        attribute_mapping: dict[str, Any] | None = None,
        create_unknown_user: bool = True,
        assertion_info: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> User | None:
        if session_info is None or "ava" not in session_info:
            return None
        issuer = str(session_info.get("issuer") or "")
        try:
            identity = read_identity(issuer=issuer, attributes=session_info["ava"])
            user, _membership = record_saml_sign_in(identity=identity)
        except SignInRefused as refused:
            # Logged by the failure page (identity_views.acs_failure): reason and IdP, nothing personal.
            if request is not None:
                # Django's authenticate() swallows PermissionDenied; the failure page reads the reason here.
                request.saml_refusal = refused  # type: ignore[attr-defined]  # the portal's attributes on Django's request
            raise PermissionDenied(str(refused)) from refused
        if request is not None:
            request.saml_tenant = identity.tenant  # type: ignore[attr-defined]  # idem
        return user
