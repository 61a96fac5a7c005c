"""State changes of tenants and memberships. Views, commands and the SAML backend call these."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import transaction
from django.utils import timezone

from tenants.models import (
    AuditEntry,
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
    deployment: dict[str, Any],
) -> Tenant:
    """Create a tenant with its Jitsi deployment. `deployment` holds JitsiDeployment fields by name."""
    tenant = Tenant(slug=slug, name=name, time_zone=time_zone, allowed_idps=list(allowed_idps or []))
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
