"""Seed the development tenant `demo` (run by `make run`; safe to run again)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from portal.env import env_str
from tenants import services
from tenants.models import Tenant

DEV_IDP_ENTITY_ID = "http://127.0.0.1:8000/dev-idp/metadata/"


class Command(BaseCommand):
    help = "Create the demo tenant with its Jitsi deployment from JITSI_* variables (development only)."

    def handle(self, *args: Any, **opts: Any) -> None:
        tenant = Tenant.objects.filter(slug="demo").first()
        if tenant is None:
            tenant = services.create_tenant(
                actor=None,
                slug="demo",
                name="Demo University",
                home_organizations=["demo.example.org"],
                allowed_idps=[env_str("DEV_IDP_ENTITY_ID", DEV_IDP_ENTITY_ID)],
                deployment={
                    "base_url": env_str("JITSI_BASE_URL", "https://meet.jit.si"),
                    "xmpp_domain": env_str("JITSI_XMPP_DOMAIN", "meet.jitsi"),
                    "tenant_path": env_str("JITSI_TENANT_PATH", ""),
                    "app_id": env_str("JITSI_APP_ID", "auditorium-demo"),
                    "audience": env_str("JITSI_AUDIENCE", "jitsi"),
                    "algorithm": env_str("JITSI_ALGORITHM", "HS256"),
                    "app_secret": env_str("JITSI_APP_SECRET", "demo-app-secret-change-me"),
                    "event_secret": env_str("JITSI_EVENT_SECRET", "demo-event-secret-change-me"),
                },
            )
            self.stdout.write(self.style.SUCCESS("seeded tenant demo"))
        else:
            self.stdout.write("tenant demo exists")
