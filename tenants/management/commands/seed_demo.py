"""Seed the development tenant `demo` (run by `make run`; safe to run again)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from portal.env import env_str
from tenants import services
from tenants.models import JitsiDeployment, Membership, Tenant

DEV_APP_SECRET = "demo-app-secret-change-me-at-least-32-bytes"  # noqa: S105 - development default
DEV_EVENT_SECRET = "demo-event-secret-change-me-at-least-32-bytes"  # noqa: S105 - development default
DEV_RECORDING_SECRET = "demo-recording-secret-change-me-at-least-32-bytes"  # noqa: S105 - development default


def deployment_from_environment() -> dict[str, str]:
    """The demo tenant's Jitsi deployment as the JITSI_* variables describe it (README, Configuration)."""
    return {
        "base_url": env_str("JITSI_BASE_URL", "https://meet.jit.si"),
        "xmpp_domain": env_str("JITSI_XMPP_DOMAIN", "meet.jitsi"),
        "tenant_path": env_str("JITSI_TENANT_PATH", ""),
        "app_id": env_str("JITSI_APP_ID", "auditorium-demo"),
        "audience": env_str("JITSI_AUDIENCE", "jitsi"),
        "algorithm": env_str("JITSI_ALGORITHM", "HS256"),
        "app_secret": env_str("JITSI_APP_SECRET", DEV_APP_SECRET),
        "event_secret": env_str("JITSI_EVENT_SECRET", DEV_EVENT_SECRET),
        "recording_secret": env_str("JITSI_RECORDING_SECRET", DEV_RECORDING_SECRET),
        "room_api_url": env_str("JITSI_ROOM_API_URL", ""),
    }


class Command(BaseCommand):
    help = "Create the demo tenant with its Jitsi deployment from JITSI_* variables (development only)."

    def handle(self, *args: Any, **opts: Any) -> None:
        from tenants.dev_idp import idp as dev_idp

        # The development IdP's entity ID follows PUBLIC_URL: <PUBLIC_URL>/dev-idp/metadata/.
        dev_idp_entity_id = dev_idp.entity_id()
        tenant = Tenant.objects.filter(slug="demo").first()
        wanted = deployment_from_environment()
        if tenant is None:
            tenant = services.create_tenant(
                actor=None,
                slug="demo",
                name="Demo University",
                home_organizations=[dev_idp.SCOPE],
                allowed_idps=[dev_idp_entity_id],
                deployment=wanted,
            )
            self.stdout.write(self.style.SUCCESS("seeded tenant demo"))
            # The demo shows recordings (an institution turns them on in its console).
            services.change_tenant(actor=None, tenant=tenant, recordings_enabled=True)
        else:
            self.stdout.write("tenant demo exists")
            if dev_idp_entity_id not in tenant.allowed_idps:
                # PUBLIC_URL changed since the last seed (127.0.0.1 -> localhost): trust the IdP's new name.
                with transaction.atomic():
                    tenant.allowed_idps = [*tenant.allowed_idps, dev_idp_entity_id]
                    tenant.save(update_fields=["allowed_idps"])
                self.stdout.write(f"demo now accepts {dev_idp_entity_id}")
            # The JITSI_* variables win on every run: a changed JITSI_APP_SECRET must reach the tokens, or
            # Prosody answers "Invalid signature" while the seed says nothing.
            deployment = JitsiDeployment.objects.get(tenant=tenant)
            changes = {name: value for name, value in wanted.items() if getattr(deployment, name) != value}
            if changes:
                services.change_deployment(actor=None, deployment=deployment, set_secrets=True, **changes)
                self.stdout.write(f"demo's deployment now follows JITSI_*: {', '.join(sorted(changes))}")
        if settings.PORTAL_DEV_IDP:
            self.seed_admin(tenant)
        else:
            self.stdout.write("PORTAL_DEV_IDP is off: the demo user `admin` was not prepared")

    def seed_admin(self, tenant: Tenant) -> None:
        """The dev IdP's `admin` becomes the demo tenant's administrator (an assigned role, kept on sign-in).

        The person is recorded exactly as a first sign-in through the development IdP records them."""
        from tenants.dev_idp import idp as dev_idp

        user, membership = dev_idp.record_person("admin")
        if membership.role != Membership.Role.ADMIN or membership.source != Membership.Source.ASSIGNED:
            services.grant_role(actor=None, tenant=tenant, user=user, role=Membership.Role.ADMIN)
            self.stdout.write(self.style.SUCCESS("the development IdP's `admin` administers demo"))
