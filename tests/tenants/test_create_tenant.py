"""`manage.py create_tenant`: complete tenants from options, clear errors otherwise."""

from __future__ import annotations

import io

import pytest
from django.core.management import CommandError, call_command

from tenants.models import AuditEntry, JitsiDeployment, Membership, Tenant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ARGS = [
    "--name",
    "University of Basel",
    "--jitsi-url",
    "https://meet.unibas.ch",
    "--xmpp-domain",
    "meet.unibas.ch",
    "--app-id",
    "auditorium",
    "--home-org",
    "unibas.ch",
    "--idp",
    "https://eduid.ch/idp/shibboleth",
    "--host",
    "Meet.Unibas.CH",
]


def test_creates_tenant_deployment_and_admin():
    UserFactory(username="op")
    call_command(
        "create_tenant",
        "unibas",
        *ARGS,
        "--admin",
        "op",
        "--admin-entitlement",
        "urn:x:admin",
        stdout=io.StringIO(),
    )
    tenant = Tenant.objects.get(slug="unibas")
    assert tenant.admin_entitlement == "urn:x:admin"
    assert tenant.allowed_idps == ["https://eduid.ch/idp/shibboleth"]
    assert list(tenant.hosts.values_list("host", flat=True)) == ["meet.unibas.ch"]
    assert list(tenant.home_organizations.values_list("domain", flat=True)) == ["unibas.ch"]
    dep = JitsiDeployment.objects.get(tenant=tenant)
    assert dep.algorithm == "HS256" and len(dep.app_secret) >= 32 and len(dep.event_secret) >= 32
    assert Membership.objects.get(tenant=tenant, user__username="op").role == "admin"
    assert AuditEntry.objects.filter(tenant=tenant, action="tenant.created").exists()


def test_secrets_are_sealed_in_the_database():
    call_command(
        "create_tenant", "unibas", *ARGS, "--app-secret", "plain-text-app-secret-123", stdout=io.StringIO()
    )
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT app_secret FROM tenants_jitsideployment")
        (stored,) = cursor.fetchone()
    assert "plain-text-app-secret-123" not in stored
    assert JitsiDeployment.objects.get().app_secret == "plain-text-app-secret-123"


@pytest.mark.parametrize(
    ("slug", "extra", "message"),
    [
        ("Bad Slug", [], "slug"),
        ("api", [], "used by the portal itself"),
        ("unibas", ["--admin", "nobody"], "nobody called 'nobody' has signed in yet"),
    ],
)
def test_refuses_bad_input_and_writes_nothing(slug, extra, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_tenant", slug, *ARGS, *extra, stdout=io.StringIO())
    assert not Tenant.objects.exists()


def test_duplicate_host_refused_without_half_written_tenant():
    call_command("create_tenant", "unibas", *ARGS, stdout=io.StringIO())
    with pytest.raises(CommandError, match="host"):
        call_command("create_tenant", "other", *ARGS[:-2], "--host", "meet.unibas.ch", stdout=io.StringIO())
    assert list(Tenant.objects.values_list("slug", flat=True)) == ["unibas"]
