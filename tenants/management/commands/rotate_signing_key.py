"""Give a tenant a fresh RS256 signing key; the previous one stays served for SIGNING_KEY_GRACE_SECONDS."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django_scopes import scope

from tenants.keys import kid_digest, rotate_signing_key
from tenants.models import JitsiDeployment, Tenant


class Command(BaseCommand):
    help = "Rotate a tenant's RS256 signing key for Jitsi tokens (non-interactive)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("tenant", help="the tenant's slug")

    def handle(self, *args: Any, **options: Any) -> None:
        tenant = Tenant.objects.filter(slug=options["tenant"]).select_related("deployment").first()
        if tenant is None:
            raise CommandError(f"no tenant {options['tenant']!r}")
        with scope(tenant=tenant):  # the named tenant's keys only
            key = rotate_signing_key(tenant=tenant, actor=None)
        deployment = getattr(tenant, "deployment", None)
        self.stdout.write(f"new active key {key.kid}")
        if deployment is not None:
            self.stdout.write(
                f"served at {settings.PUBLIC_URL}/jitsi/{deployment.slug}/asap/{kid_digest(key.kid)}.pem"
            )
            if deployment.algorithm != JitsiDeployment.Algorithm.RS256:
                self.stderr.write(
                    "note: this deployment signs with HS256; the key is used once it is switched to RS256"
                )
