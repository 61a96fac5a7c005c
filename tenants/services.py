"""State changes of tenants and memberships. Views, commands and the SAML backend call these."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
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
    fields = {"slug": slug, "event_secret": secrets.token_urlsafe(32), **deployment}
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


@transaction.atomic
def change_branding(*, actor: User, tenant: Tenant, changes: dict[str, Any]) -> Branding:
    """Apply validated branding changes; images must have passed tenants.branding.check_image."""
    from tenants.branding import forget_document

    unknown = set(changes) - set(BRANDING_FIELDS)
    if unknown:
        raise ValueError(f"not branding fields: {sorted(unknown)}")
    branding, _created = Branding.objects.select_for_update().get_or_create(tenant=tenant)
    changed = [field for field, value in changes.items() if getattr(branding, field) != value]
    if not changed:
        return branding
    for field in changed:
        setattr(branding, field, changes[field])
    branding.version += 1
    branding.full_clean()
    branding.save(update_fields=[*changed, "version", "updated_at"])
    audit(tenant=tenant, actor=actor, action="branding.changed", target=tenant.slug, fields=sorted(changed))
    transaction.on_commit(lambda: forget_document(tenant))
    return branding


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


DEPLOYMENT_FIELDS = frozenset(
    {
        "base_url",
        "xmpp_domain",
        "tenant_path",
        "app_id",
        "audience",
        "algorithm",
        "app_secret",
        "event_secret",
        "room_api_url",
    }
)


@transaction.atomic
def change_deployment(
    *, actor: User | None, deployment: JitsiDeployment, changes: dict[str, Any]
) -> JitsiDeployment:
    """Change a Jitsi deployment's settings; the audit row names the fields, never secret values."""
    unknown = set(changes) - DEPLOYMENT_FIELDS
    if unknown:
        raise ValueError(f"not deployment settings: {', '.join(sorted(unknown))}")
    for name, value in changes.items():
        setattr(deployment, name, value)
    deployment.full_clean(exclude=["tenant"])
    deployment.save(update_fields=sorted(changes))
    audit(
        tenant=deployment.tenant,
        actor=actor,
        action="deployment.changed",
        target=deployment.slug,
        fields=sorted(changes),
    )
    return deployment


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
