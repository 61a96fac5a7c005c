"""Create a tenant and its Jitsi deployment without prompts (for operators and scripts)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants import services
from tenants.models import ExternalIdentity, JitsiDeployment, Membership, User


def read_secret_file(path: str) -> str:
    """A secret from a file (e.g. /run/secrets/...), without its trailing newline."""
    try:
        value = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
    if not value:
        raise CommandError(f"{path} is empty")
    return value


def find_person(ref: str) -> User:
    """A person by username, e-mail address or SAML unique identifier (subject-id and the like)."""
    found = list(User.objects.filter(username=ref)[:2])
    if not found:
        found = list(User.objects.filter(email__iexact=ref)[:2])
        found += [
            identity.user
            for identity in ExternalIdentity.objects.filter(value=ref).select_related("user")[:2]
            if identity.user not in found
        ]
    if len(found) == 1:
        return found[0]
    if found:
        raise CommandError(f"{ref!r} names several people: give their username (u-...) instead")
    raise CommandError(
        f"nobody called {ref!r} has signed in yet: give a username, e-mail address or edu-ID unique ID of "
        "someone who has, or --admin-entitlement so that admins are recognised at their first sign-in"
    )


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
        parser.add_argument("--app-secret-file", default="", help="HS256 shared secret from a file")
        parser.add_argument(
            "--event-secret-file", default="", help="event secret from a file (generated when omitted)"
        )
        parser.add_argument(
            "--room-api-url", default="", help="Prosody's mod_muc_size base URL, e.g. http://prosody:5280"
        )
        parser.add_argument("--deployment-slug", default="", help="defaults to the tenant slug")
        parser.add_argument(
            "--admin",
            action="append",
            default=[],
            help="make this person admin: username, e-mail or edu-ID unique ID (repeatable)",
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
            "room_api_url": opts["room_api_url"],
        }
        if opts["app_secret"] and opts["app_secret_file"]:
            raise CommandError("give --app-secret or --app-secret-file, not both")
        generated = []
        if opts["app_secret_file"]:
            deployment["app_secret"] = read_secret_file(opts["app_secret_file"])
        elif opts["app_secret"]:
            deployment["app_secret"] = opts["app_secret"]
        elif opts["algorithm"] == JitsiDeployment.Algorithm.HS256:
            generated.append("app_secret")
        if opts["event_secret_file"]:
            deployment["event_secret"] = read_secret_file(opts["event_secret_file"])
        else:
            generated.append("event_secret")
        admins = [find_person(ref) for ref in opts["admin"]]
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
        if generated:
            # Shown once: the database keeps them sealed, and the console only rotates them.
            dep = JitsiDeployment.objects.get(tenant=tenant)
            self.stdout.write("Generated secrets (shown once; `prosody_config` prints them in place):")
            for name in generated:
                self.stdout.write(f"  {name}: {getattr(dep, name)}")
