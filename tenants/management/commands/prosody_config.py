"""Print the Prosody configuration for a tenant's Jitsi deployment, ready to paste."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.models import JitsiDeployment
from tenants.prosody import prosody_configuration


class Command(BaseCommand):
    help = "Print the Prosody configuration (token auth, event_sync, asap keys, muc_size) for a tenant."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant's slug")
        parser.add_argument(
            "--no-secrets", action="store_true", help="placeholders instead of the app and event secrets"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        deployment = (
            JitsiDeployment.objects.select_related("tenant").filter(tenant__slug=opts["tenant"]).first()
        )
        if deployment is None:
            raise CommandError(f"there is no tenant {opts['tenant']!r} with a Jitsi deployment")
        self.stdout.write(
            prosody_configuration(
                deployment, public_url=settings.PUBLIC_URL, with_secrets=not opts["no_secrets"]
            ),
            ending="",
        )
