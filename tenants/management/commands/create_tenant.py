"""Create a tenant and its Jitsi deployment without prompts (for operators and scripts)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants import services
from tenants.models import JitsiDeployment, Membership, User


class Command(BaseCommand):
    help = "Create an institution (tenant) with its Jitsi deployment."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("slug", help="short name used in URLs, e.g. uzh")
        parser.add_argument("--name", required=True, help="display name, e.g. 'University of Zurich'")
        parser.add_argument("--time-zone", default="Europe/Zurich")
        parser.add_argument("--host", action="append", default=[], help="own host name (repeatable)")
        parser.add_argument(
            "--home-org", action="append", default=[], help="home organisation domain (repeatable)"
        )
        parser.add_argument("--idp", action="append", default=[], help="allowed IdP entity ID (repeatable)")
        parser.add_argument("--jitsi-url", required=True, help="base URL of the Jitsi web front-end")
        parser.add_argument("--xmpp-domain", required=True)
        parser.add_argument("--tenant-path", default="", help="Jitsi tenant path segment, if rooms use one")
        parser.add_argument("--app-id", required=True)
        parser.add_argument("--audience", default="jitsi")
        parser.add_argument(
            "--algorithm", choices=[c.value for c in JitsiDeployment.Algorithm], default="HS256"
        )
        parser.add_argument("--app-secret", default="", help="HS256 shared secret (generated when omitted)")
        parser.add_argument("--deployment-slug", default="", help="defaults to the tenant slug")
        parser.add_argument(
            "--admin", action="append", default=[], help="username to make admin (repeatable)"
        )
        parser.add_argument(
            "--admin-entitlement", default="", help="eduPersonEntitlement value that makes its holders admins"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        deployment: dict[str, Any] = {
            "slug": opts["deployment_slug"] or opts["slug"],
            "base_url": opts["jitsi_url"],
            "xmpp_domain": opts["xmpp_domain"],
            "tenant_path": opts["tenant_path"],
            "app_id": opts["app_id"],
            "audience": opts["audience"],
            "algorithm": opts["algorithm"],
        }
        if opts["app_secret"]:
            deployment["app_secret"] = opts["app_secret"]
        admins = []
        for username in opts["admin"]:
            try:
                admins.append(User.objects.get(username=username))
            except User.DoesNotExist as exc:
                raise CommandError(f"there is no user {username!r} to make admin") from exc
        try:
            tenant = services.create_tenant(
                actor=None,
                slug=opts["slug"],
                name=opts["name"],
                time_zone=opts["time_zone"],
                hosts=opts["host"],
                home_organizations=opts["home_org"],
                allowed_idps=opts["idp"],
                admin_entitlement=opts["admin_entitlement"],
                deployment=deployment,
            )
        except ValidationError as exc:
            messages = "; ".join(f"{field}: {' '.join(errs)}" for field, errs in exc.message_dict.items())
            raise CommandError(f"tenant not created: {messages}") from exc
        for user in admins:
            services.grant_role(actor=None, tenant=tenant, user=user, role=Membership.Role.ADMIN)
        self.stdout.write(self.style.SUCCESS(f"created tenant {tenant.slug} ({tenant.name})"))
