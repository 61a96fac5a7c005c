"""Institutions (tenants), their Jitsi deployment, people and their memberships."""

from __future__ import annotations

import uuid
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.signals import bulk_updated
from tenants.fields import SealedTextField, ServiceURLField
from tenants.scoping import TenantScopedManager

slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    _("Use 1 to 50 lowercase letters, digits and hyphens, not starting or ending with a hyphen."),
)

# Path segments that belong to the portal itself and so can never name a tenant (a tenant "jitsi" would
# put its pages where only Prosody's routes may be). tests/test_bad_input.py checks that every top-level
# route of portal/urls.py is listed.
RESERVED_SLUGS = frozenset(
    {
        "accounts",
        "admin",
        "api",
        "bench",
        "dev-idp",
        "healthz",
        "hls",
        "jitsi",
        "jsi18n",
        "media",
        "new",
        "readyz",
        "saml2",
        "static",
        "streams",
        "ws",
        "r",
        "t",
    }
)


def not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(_("“%(value)s” is used by the portal itself."), params={"value": value})


class User(AbstractUser):
    """A person. Signed-in people come from SAML; `public_id` is the opaque id sent to Jitsi."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    display_name = models.CharField(_("display name"), max_length=200, blank=True)
    # edu-ID's preferredLanguage as last released (refreshed at every sign-in) ...
    preferred_language = models.CharField(_("preferred language"), max_length=16, blank=True)
    # ... and the person's own choice in the header's switcher, which wins over it (tenants/language.py).
    interface_language = models.CharField(
        _("interface language"), max_length=8, choices=settings.LANGUAGES, blank=True
    )
    affiliations = models.JSONField(_("affiliations"), default=list, blank=True)
    share_email_in_meetings = models.BooleanField(
        _("show my e-mail address to other participants"), default=False
    )

    def get_display_name(self) -> str:
        full = f"{self.first_name} {self.last_name}".strip()
        return self.display_name or full or self.username


def within_recording_retention_maximum(value: int) -> None:
    """The operator's ceiling (RECORDINGS_MAX_RETENTION_DAYS), read when checked: a change applies at once."""
    if value > settings.RECORDINGS_MAX_RETENTION_DAYS:
        raise ValidationError(
            _("At most %(days)s days."), params={"days": settings.RECORDINGS_MAX_RETENTION_DAYS}
        )


class Tenant(models.Model):
    slug = models.SlugField(_("slug"), max_length=50, unique=True, validators=[slug_validator, not_reserved])
    name = models.CharField(_("name"), max_length=200)
    time_zone = models.CharField(_("time zone"), max_length=64, default="Europe/Zurich")
    allowed_idps = models.JSONField(
        _("identity providers"),
        default=list,
        blank=True,
        help_text=_("Entity IDs of the IdPs allowed to sign this institution's people in."),
    )
    admin_entitlement = models.CharField(
        _("admin entitlement"),
        max_length=500,
        blank=True,
        help_text=_("An eduPersonEntitlement value whose holders become administrators when they sign in."),
    )
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retention_days = models.PositiveIntegerField(
        _("keep attendance records for (days)"),
        default=90,
        help_text=_("Who was in which meeting is deleted after this; totals per meeting are kept."),
    )
    # Recordings (meetings/recordings): off until the institution turns them on.
    recordings_enabled = models.BooleanField(_("recordings"), default=False)
    recording_retention_days = models.PositiveIntegerField(
        _("keep recordings for (days)"),
        default=365,
        validators=[within_recording_retention_maximum],
        help_text=_("At most the operator's maximum (RECORDINGS_MAX_RETENTION_DAYS)."),
    )
    recording_quota_gb = models.PositiveIntegerField(_("storage for recordings (GB)"), default=100)
    recording_consent_required = models.BooleanField(
        _("ask participants to confirm before joining a room that may be recorded"), default=False
    )

    class Meta:
        ordering = ["name"]
        verbose_name = _("institution")
        verbose_name_plural = _("institutions")

    def __str__(self) -> str:
        return self.name


class TenantHost(models.Model):
    """A host name served as this tenant's own site (its pages without the /<tenant>/ prefix)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="hosts")
    host = models.CharField(_("host name"), max_length=253, unique=True)

    def __str__(self) -> str:
        return self.host


class HomeOrganization(models.Model):
    """A home-organisation domain (swissEduPersonHomeOrganization / schacHomeOrganization) of a tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="home_organizations")
    domain = models.CharField(_("domain"), max_length=253, unique=True)

    def __str__(self) -> str:
        return self.domain


class JitsiDeployment(models.Model):
    class Algorithm(models.TextChoices):
        HS256 = "HS256", _("HS256 (shared app secret)")
        RS256 = "RS256", _("RS256 (public keys served by auditorium)")

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="deployment")
    slug = models.SlugField(_("slug"), max_length=50, unique=True, validators=[slug_validator])
    base_url = models.URLField(_("Jitsi base URL"), help_text=_("For example https://meet.uzh.ch"))
    xmpp_domain = models.CharField(_("XMPP domain"), max_length=253)
    tenant_path = models.CharField(
        _("tenant path segment"),
        max_length=50,
        blank=True,
        help_text=_("Empty unless rooms live under /<segment>/"),
    )
    app_id = models.CharField(_("app_id"), max_length=100)
    audience = models.CharField(_("audience"), max_length=100, default="jitsi")
    algorithm = models.CharField(
        _("algorithm"), max_length=5, choices=Algorithm.choices, default=Algorithm.HS256
    )
    app_secret = SealedTextField(_("app secret (HS256)"), blank=True)
    event_secret = SealedTextField(_("event secret"), blank=True)
    # Jibri's finalize script authenticates its uploads with it (meetings/recordings/ingest.py).
    recording_secret = SealedTextField(_("recording secret"), blank=True)
    room_api_url = ServiceURLField(
        _("room API URL"),
        blank=True,
        help_text=_("Prosody's mod_muc_size base URL for reconciling counts, e.g. http://prosody:5280"),
    )

    def __str__(self) -> str:
        return f"{self.slug} ({self.base_url})"

    @property
    def sub(self) -> str:
        """The `sub` claim Prosody checks: the tenant path segment, else the XMPP domain."""
        return self.tenant_path or self.xmpp_domain


class MembershipQuerySet(models.QuerySet["Membership"]):
    def update(self, **kwargs: Any) -> int:
        """Bulk updates skip post_save: tell the per-process caches of these users (tenants/hotcache.py)."""
        rows = list(self.values("user_id"))
        count = super().update(**kwargs)
        bulk_updated.send(sender=Membership, rows=rows)
        return count


class Membership(models.Model):
    class Role(models.TextChoices):
        ADMIN = "admin", _("Administrator")
        HOST = "host", _("Host")
        MEMBER = "member", _("Member")

    class Source(models.TextChoices):
        SAML = "saml", _("From sign-in")
        ASSIGNED = "assigned", _("Assigned")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.MEMBER)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices, default=Source.SAML)
    is_blocked = models.BooleanField(_("blocked"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_login_at = models.DateTimeField(null=True, blank=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="membership_unique_per_tenant")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.tenant} ({self.role})"

    @property
    def may_host(self) -> bool:
        return not self.is_blocked and self.role in {self.Role.ADMIN, self.Role.HOST}

    @property
    def is_admin(self) -> bool:
        return not self.is_blocked and self.role == self.Role.ADMIN


class AuditEntry(models.Model):
    """Who changed what in a tenant, and when. Written by services, shown to the tenant's admins."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="audit_entries")
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    action = models.CharField(max_length=64)
    target = models.CharField(max_length=200, blank=True)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = TenantScopedManager()  # tenants/scoping.py

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = _("audit entries")

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M} {self.action} {self.target}"

    # Who acted, when no person of the institution did: services mark visitors without an account
    # (`by="anonymous"` in data); everything else without an actor came from the portal's operators.
    ANONYMOUS = "anonymous"

    @property
    def actor_label(self) -> str:
        if self.actor is not None:
            return str(self.actor.get_display_name())
        if (self.data or {}).get("by") == self.ANONYMOUS or self.action.startswith("room.anonymous_"):
            return str(_("anonymous visitor"))
        return str(_("operator"))


class ExternalIdentity(models.Model):
    """A stable SAML identifier of a person as released by one IdP.

    Never ePPN, mail or a NameID: those can be reassigned or are transient."""

    class Kind(models.TextChoices):
        SUBJECT_ID = "subject-id", "subject-id"
        SWISS_UNIQUE_ID = "swissEduPersonUniqueID", "swissEduPersonUniqueID"
        EDU_UNIQUE_ID = "eduPersonUniqueId", "eduPersonUniqueId"
        PAIRWISE_ID = "pairwise-id", "pairwise-id"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identities")
    issuer = models.CharField(_("IdP entity ID"), max_length=500)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    value = models.CharField(max_length=500)
    created_at = models.DateTimeField(auto_now_add=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issuer", "kind", "value"], name="identity_unique_per_issuer")
        ]

    def __str__(self) -> str:
        return f"{self.kind} from {self.issuer}"


class SigningKey(models.Model):
    """An RS256 key pair of a tenant for room tokens. The public half is served to Prosody by sha256(kid)."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="signing_keys")
    kid = models.CharField(max_length=100, unique=True)
    algorithm = models.CharField(max_length=10, default="RS256")
    public_pem = models.TextField()
    private_pem = SealedTextField()
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager()  # tenants/scoping.py

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.kid


WELCOME_TEXT_MAX_LENGTH = 5000

hex_colour_validator = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Use a colour like #1f5fa8."))


BRANDING_EXTENSIONS = ("png", "jpg", "webp")


def branding_upload_path(instance: Branding, filename: str) -> str:
    # A fresh random name per upload: cached old URLs never show a new image, and names reveal nothing.
    # The name reaching here is tenants.branding.prepare_image's (its detected format), never the client's;
    # anything else is refused rather than stored under an extension a browser might run.
    extension = filename.rsplit(".", 1)[-1].lower()
    if extension not in BRANDING_EXTENSIONS:
        raise ValueError("branding images are stored only through tenants.branding.prepare_image")
    return f"branding/{instance.tenant.slug}/{uuid.uuid4().hex}.{extension}"


class Branding(models.Model):
    """How a tenant's portal pages and its Jitsi meetings look."""

    tenant = models.OneToOneField(Tenant, on_delete=models.CASCADE, related_name="branding")
    logo = models.ImageField(_("logo"), upload_to=branding_upload_path, blank=True)
    background_image = models.ImageField(_("background image"), upload_to=branding_upload_path, blank=True)
    primary_colour = models.CharField(
        _("primary colour"), max_length=7, default="#1f5fa8", validators=[hex_colour_validator]
    )
    background_colour = models.CharField(
        _("background colour"), max_length=7, default="#f6f7f9", validators=[hex_colour_validator]
    )
    welcome_text = models.TextField(
        _("welcome text"),
        blank=True,
        max_length=WELCOME_TEXT_MAX_LENGTH,
        validators=[MaxLengthValidator(WELCOME_TEXT_MAX_LENGTH)],  # a TextField's max_length binds forms only
        help_text=_("Markdown: emphasis, links and lists."),
    )
    support_url = models.URLField(_("support page"), blank=True)
    default_language = models.CharField(
        _("default language"), max_length=8, choices=settings.LANGUAGES, default="en"
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"branding of {self.tenant}"


class ApiToken(models.Model):
    """A personal API token: acts for one person in one tenant, with the scopes it was given.

    The secret is shown once; only its SHA-256 is stored. `prefix` (random, not secret) finds the row."""

    class Scope(models.TextChoices):
        ROOMS_READ = "rooms:read", _("Read rooms")
        ROOMS_WRITE = "rooms:write", _("Create and change rooms")
        JOIN = "join", _("Join meetings")
        ADMIN = "admin", _("Administer the institution")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    secret_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = TenantScopedManager()  # tenants/scoping.py

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
