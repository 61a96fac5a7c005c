"""State changes of tenants and memberships. Views, commands and the SAML backend call these."""

from __future__ import annotations

import secrets
from functools import partial
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.utils import timezone

from tenants.models import (
    AuditEntry,
    Branding,
    HomeOrganization,
    JitsiDeployment,
    Membership,
    Tenant,
    TenantHost,
    User,
)


def audit(*, tenant: Tenant, actor: User | None, action: str, target: str = "", **data: Any) -> AuditEntry:
    return AuditEntry.objects.create(
        tenant=tenant, actor=actor, action=action, target=target[:200], data=data
    )


@transaction.atomic
def create_tenant(
    *,
    actor: User | None,
    slug: str,
    name: str,
    time_zone: str = "Europe/Zurich",
    hosts: list[str] | None = None,
    home_organizations: list[str] | None = None,
    allowed_idps: list[str] | None = None,
    admin_entitlement: str = "",
    deployment: dict[str, Any],
) -> Tenant:
    """Create a tenant with its Jitsi deployment. `deployment` holds JitsiDeployment fields by name."""
    tenant = Tenant(
        slug=slug,
        name=name,
        time_zone=time_zone,
        allowed_idps=list(allowed_idps or []),
        admin_entitlement=admin_entitlement,
    )
    tenant.full_clean()
    tenant.save()
    rows: list[TenantHost | HomeOrganization] = [
        TenantHost(tenant=tenant, host=h.lower()) for h in hosts or []
    ]
    rows += [HomeOrganization(tenant=tenant, domain=d.lower()) for d in home_organizations or []]
    for row in rows:
        row.full_clean()
        row.save()
    fields = {
        "slug": slug,
        "event_secret": secrets.token_urlsafe(32),
        "recording_secret": secrets.token_urlsafe(32),
        **deployment,
    }
    if fields.get("algorithm", JitsiDeployment.Algorithm.HS256) == JitsiDeployment.Algorithm.HS256:
        fields.setdefault("app_secret", secrets.token_urlsafe(32))
    dep = JitsiDeployment(tenant=tenant, **fields)
    dep.full_clean(exclude=["tenant"])
    dep.save()
    audit(tenant=tenant, actor=actor, action="tenant.created", target=slug)
    return tenant


@transaction.atomic
def grant_role(*, actor: User | None, tenant: Tenant, user: User, role: str) -> Membership:
    """Assign a role by hand (an operator or admin); SAML sign-in never overwrites an assigned role."""
    membership, _created = Membership.objects.get_or_create(user=user, tenant=tenant)
    membership.role = role
    membership.source = Membership.Source.ASSIGNED
    membership.save(update_fields=["role", "source"])
    audit(tenant=tenant, actor=actor, action="membership.role_changed", target=user.username, role=role)
    return membership


@transaction.atomic
def record_sign_in(*, tenant: Tenant, user: User, role_from_idp: str) -> Membership:
    """Join or refresh the membership of a person who signed in through SAML."""
    membership, created = Membership.objects.select_for_update().get_or_create(
        user=user, tenant=tenant, defaults={"role": role_from_idp, "source": Membership.Source.SAML}
    )
    fields = ["last_login_at"]
    if not created and membership.source == Membership.Source.SAML and membership.role != role_from_idp:
        membership.role = role_from_idp
        fields.append("role")
    membership.last_login_at = timezone.now()
    membership.save(update_fields=fields)
    return membership


BRANDING_FIELDS = (
    "primary_colour",
    "background_colour",
    "welcome_text",
    "support_url",
    "default_language",
    "logo",
    "background_image",
)
BRANDING_IMAGES = ("logo", "background_image")


@transaction.atomic
def change_branding(*, actor: User, tenant: Tenant, changes: dict[str, Any]) -> Branding:
    """Apply validated branding changes. Every new image passes tenants.branding.prepare_image (a file
    that did not is re-encoded here, so no caller can store the client's bytes or name); replaced and
    removed images are deleted from storage once the change is committed."""
    from tenants.branding import PreparedImage, forget_document, prepare_image

    unknown = set(changes) - set(BRANDING_FIELDS)
    if unknown:
        raise ValueError(f"not branding fields: {sorted(unknown)}")
    changes = dict(changes)
    for field in set(BRANDING_IMAGES) & set(changes):
        value = changes[field]
        if value in ("", None):
            changes[field] = ""  # removed
        elif isinstance(value, File):
            if not isinstance(value, PreparedImage):
                changes[field] = prepare_image(value)  # ImageRefused (a ValueError) says what is wrong
        else:
            # A stored name would point this tenant at any file under MEDIA_ROOT (and delete it later).
            raise ValueError(f"{field}: an uploaded file or '' to remove it")
    branding, _created = Branding.objects.select_for_update().get_or_create(tenant=tenant)
    changed = [field for field, value in changes.items() if getattr(branding, field) != value]
    if not changed:
        return branding
    superseded = [
        getattr(branding, field).name
        for field in changed
        if field in BRANDING_IMAGES and getattr(branding, field)
    ]
    for field in changed:
        setattr(branding, field, changes[field])
    branding.version += 1
    branding.full_clean()
    branding.save(update_fields=[*changed, "version", "updated_at"])
    audit(tenant=tenant, actor=actor, action="branding.changed", target=tenant.slug, fields=sorted(changed))
    transaction.on_commit(lambda: forget_document(tenant))
    for name in superseded:
        # Only after the commit: a rolled-back change still points at the old file. Robust: a file
        # already gone (or a storage hiccup) is logged, it does not undo the saved change.
        transaction.on_commit(partial(_delete_branding_file, name), robust=True)
    return branding


def _delete_branding_file(name: str) -> None:
    Branding._meta.get_field("logo").storage.delete(name)


@transaction.atomic
def change_member_role(*, actor: User, membership: Membership, role: str) -> Membership:
    if role not in Membership.Role.values:
        raise ValueError(f"unknown role {role!r}")
    if membership.user_id == actor.pk and role != Membership.Role.ADMIN:
        raise PermissionError("admins cannot take away their own admin role")
    old = membership.role
    membership.role = role
    membership.source = Membership.Source.ASSIGNED
    membership.save(update_fields=["role", "source"])
    audit(
        tenant=membership.tenant,
        actor=actor,
        action="membership.role_changed",
        target=membership.user.username,
        old=old,
        new=role,
    )
    return membership


@transaction.atomic
def set_member_blocked(*, actor: User, membership: Membership, blocked: bool) -> Membership:
    if membership.user_id == actor.pk:
        raise PermissionError("admins cannot block themselves")
    if membership.is_blocked == blocked:
        return membership
    membership.is_blocked = blocked
    membership.save(update_fields=["is_blocked"])
    audit(
        tenant=membership.tenant,
        actor=actor,
        action="membership.blocked" if blocked else "membership.unblocked",
        target=membership.user.username,
    )
    return membership


@transaction.atomic
def rotate_event_secret(*, actor: User | None, tenant: Tenant) -> str:
    """Give the deployment a new event secret; answers it once, for the Prosody configuration."""
    deployment = JitsiDeployment.objects.select_for_update().get(tenant=tenant)
    deployment.event_secret = secrets.token_urlsafe(32)
    deployment.save(update_fields=["event_secret"])
    audit(tenant=tenant, actor=actor, action="deployment.event_secret_rotated", target=deployment.slug)
    return deployment.event_secret


@transaction.atomic
def rotate_recording_secret(*, actor: User | None, tenant: Tenant) -> str:
    """Give the deployment a new recording secret (Jibri's uploads); answers it once, for the Jibri hosts."""
    deployment = JitsiDeployment.objects.select_for_update().get(tenant=tenant)
    deployment.recording_secret = secrets.token_urlsafe(32)
    deployment.save(update_fields=["recording_secret"])
    audit(tenant=tenant, actor=actor, action="deployment.recording_secret_rotated", target=deployment.slug)
    return deployment.recording_secret


TENANT_FIELDS = (
    "name",
    "time_zone",
    "allowed_idps",
    "admin_entitlement",
    "is_active",
    "retention_days",
    "recordings_enabled",
    "recording_retention_days",
    "recording_quota_gb",
    "recording_consent_required",
)


@transaction.atomic
def change_tenant(
    *,
    actor: User | None,
    tenant: Tenant,
    hosts: list[str] | None = None,
    home_organizations: list[str] | None = None,
    **changes: Any,
) -> Tenant:
    """Change an institution's settings and, when given, replace its own host names and home organisations.

    Compares with the stored row (the caller's `tenant` may hold unsaved values); one audit row for it all."""
    unknown = set(changes) - set(TENANT_FIELDS)
    if unknown:
        raise TypeError(f"unknown tenant fields: {sorted(unknown)}")
    row = Tenant.objects.select_for_update().get(pk=tenant.pk)
    fields = [f for f, v in changes.items() if getattr(row, f) != v]
    for f in fields:
        setattr(row, f, changes[f])
    if fields:
        row.full_clean()
        row.save(update_fields=fields)
    data: dict[str, Any] = {}
    for kind, model, field, wanted in (
        ("hosts", TenantHost, "host", hosts),
        ("home_organizations", HomeOrganization, "domain", home_organizations),
    ):
        if wanted is None:
            continue
        current = set(model.objects.filter(tenant=row).values_list(field, flat=True))
        target = {value.strip().lower() for value in wanted if value.strip()}
        removed, added = sorted(current - target), sorted(target - current)
        model.objects.filter(tenant=row, **{f"{field}__in": removed}).delete()
        for value in added:
            new = model(tenant=row, **{field: value})
            new.full_clean()
            new.save()
        if added or removed:
            data[kind] = {"added": added, "removed": removed}
    if fields or data:
        audit(tenant=row, actor=actor, action="tenant.changed", target=row.slug, fields=fields, **data)
    return row


DEPLOYMENT_FIELDS = ("base_url", "xmpp_domain", "tenant_path", "app_id", "audience", "room_api_url")
# Set only by the development seed (JITSI_* variables); in production secrets are rotated, never typed in.
DEPLOYMENT_SECRET_FIELDS = ("algorithm", "app_secret", "event_secret", "recording_secret")


@transaction.atomic
def change_deployment(
    *, actor: User | None, deployment: JitsiDeployment, set_secrets: bool = False, **changes: Any
) -> JitsiDeployment:
    """Change where and how a tenant's Jitsi deployment is reached. The audit row names fields, never values.

    Secrets and the algorithm only with `set_secrets` (the development seed); otherwise they are rotated."""
    allowed = set(DEPLOYMENT_FIELDS) | (set(DEPLOYMENT_SECRET_FIELDS) if set_secrets else set())
    unknown = set(changes) - allowed
    if unknown:
        raise TypeError(f"unknown deployment fields: {sorted(unknown)}")
    row = JitsiDeployment.objects.select_for_update().select_related("tenant").get(pk=deployment.pk)
    fields = [f for f, v in changes.items() if getattr(row, f) != v]
    if not fields:
        return row
    for f in fields:
        setattr(row, f, changes[f])
    row.full_clean(exclude=["tenant"])
    row.save(update_fields=fields)
    audit(tenant=row.tenant, actor=actor, action="deployment.changed", target=row.slug, fields=fields)
    return row


@transaction.atomic
def set_preferred_language(*, actor: User, user: User, language: str) -> User:
    """A person's own choice of interface language (the header's switcher); "" forgets it.

    It wins over edu-ID's preferredLanguage at every later sign-in (tenants/language.py). No audit row: a
    personal setting, no tenant's business."""
    if actor.pk != user.pk:
        raise PermissionError("people choose their own language")
    if language and language not in {code for code, _name in settings.LANGUAGES}:
        raise ValueError(f"unknown language {language!r}")
    if user.interface_language != language:
        user.interface_language = language
        user.save(update_fields=["interface_language"])
    return user
