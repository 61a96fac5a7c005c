"""Operators (active superusers) use the Django admin; every save goes through a service (an audit row)."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from meetings import services as room_services
from meetings.models import LectureSeries, OccurrenceChange, PersonalFeed, Room
from tenants import keys
from tenants.api.services import issue_token
from tenants.models import (
    AuditEntry,
    Branding,
    HomeOrganization,
    JitsiDeployment,
    Membership,
    Tenant,
    TenantHost,
)
from tests.factories import MembershipFactory, UserFactory
from tests.tenants.admin_support import fill_tenant, form_data, registered_models


@pytest.fixture
def two_tenants(tenant, other_tenant, admin_user, outsider):
    return (
        fill_tenant(tenant, admin_user=admin_user, label="UZH", domain="uzh.ch"),
        fill_tenant(other_tenant, admin_user=outsider, label="ETH-only", domain="ethz.ch"),
    )


@pytest.fixture
def operator(db):
    return UserFactory(username="operator", is_staff=True, is_superuser=True)


@pytest.fixture
def operator_client(client, operator):
    client.force_login(operator)
    return client


def change_form(client, url: str) -> dict:
    response = client.get(url)
    assert response.status_code == 200, url
    return form_data(response.content.decode(), next(iter(_form_ids(response.content.decode()))))


def _form_ids(page: str) -> list[str]:
    import re

    return [i for i in re.findall(r'<form[^>]*id="([^"]+_form)"', page)]


def test_every_admin_page_answers_and_no_secret_is_shown(operator_client, two_tenants, tenant):
    keys.ensure_active_key(tenant=tenant)
    issued = issue_token(
        actor=two_tenants[0].admin, tenant=tenant, name="cli", scopes=["admin"], lifetime_days=9
    )
    room_services.update_room(actor=two_tenants[0].lecturer, room=two_tenants[0].room, access_code="4711")
    secrets = []
    for dep in JitsiDeployment.objects.all():
        secrets += [dep.app_secret, dep.event_secret]
    secrets += [s.feed_token for s in LectureSeries.objects.all()]
    secrets += [f.token for f in PersonalFeed.objects.all()]
    secrets += [r.access_code_hash for r in Room.objects.exclude(access_code_hash="")]
    secrets += [k.private_pem.strip().splitlines()[1] for k in tenant.signing_keys.all()]
    secrets += [issued.token.secret_hash, issued.plaintext]
    assert len(secrets) >= 11 and all(secrets)
    pages = 0
    for model in registered_models():
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        urls = [reverse(f"{base}_changelist"), reverse(f"{base}_add")]
        for row in model._default_manager.all():
            urls += [reverse(f"{base}_{page}", args=[row.pk]) for page in ("change", "history", "delete")]
        for url in urls:
            response = operator_client.get(url)
            assert response.status_code in {200, 403}, url
            body = response.content.decode()
            assert not [s for s in secrets if s in body], url
            pages += response.status_code == 200
    assert pages > 50


def test_changing_a_members_role_and_blocking_go_through_the_services(
    operator_client, operator, two_tenants, member, tenant
):
    membership = Membership.objects.get(user=member, tenant=tenant)
    url = reverse("admin:tenants_membership_change", args=[membership.pk])
    data = change_form(operator_client, url)
    assert data["role"] == "member"
    response = operator_client.post(url, {**data, "role": "host"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.role == "host" and membership.source == Membership.Source.ASSIGNED
    entry = AuditEntry.objects.get(tenant=tenant, actor=operator, action="membership.role_changed")
    assert entry.target == "student" and entry.data == {"old": "member", "new": "host"}

    response = operator_client.post(url, {**change_form(operator_client, url), "is_blocked": "on"})
    assert response.status_code == 302
    membership.refresh_from_db()
    assert membership.is_blocked
    assert AuditEntry.objects.filter(tenant=tenant, actor=operator, action="membership.blocked").exists()


def test_adding_a_membership_grants_the_role_through_the_service(
    operator_client, operator, two_tenants, other_tenant
):
    person = UserFactory(username="newcomer")
    response = operator_client.post(
        reverse("admin:tenants_membership_add"),
        {"user": person.pk, "tenant": other_tenant.pk, "role": "admin", "is_blocked": "on"},
    )
    assert response.status_code == 302
    membership = Membership.objects.get(user=person, tenant=other_tenant)
    assert (
        membership.role == "admin"
        and membership.source == Membership.Source.ASSIGNED
        and membership.is_blocked
    )
    actions = set(
        AuditEntry.objects.filter(tenant=other_tenant, actor=operator, target="newcomer").values_list(
            "action", flat=True
        )
    )
    assert actions == {"membership.role_changed", "membership.blocked"}
    # Once there, the same pair cannot be added twice (a form error, not a crash).
    response = operator_client.post(
        reverse("admin:tenants_membership_add"),
        {"user": person.pk, "tenant": other_tenant.pk, "role": "member"},
    )
    assert response.status_code == 200 and Membership.objects.filter(user=person).count() == 1


def test_an_operator_cannot_demote_or_block_their_own_membership(operator_client, operator, tenant):
    membership = MembershipFactory(user=operator, tenant=tenant, role=Membership.Role.ADMIN)
    url = reverse("admin:tenants_membership_change", args=[membership.pk])
    data = change_form(operator_client, url)
    for change, message in (
        ({"role": "member"}, "You cannot take away your own administrator role."),
        ({"is_blocked": "on"}, "You cannot block yourself."),
    ):
        response = operator_client.post(url, {**data, **change})
        assert response.status_code == 200 and message in response.content.decode()
    membership.refresh_from_db()
    assert membership.role == "admin" and not membership.is_blocked


def test_memberships_tenants_and_branding_are_not_deleted_here(operator_client, two_tenants, member, tenant):
    membership = Membership.objects.get(user=member, tenant=tenant)
    for url in (
        reverse("admin:tenants_membership_delete", args=[membership.pk]),
        reverse("admin:tenants_tenant_delete", args=[tenant.pk]),
        reverse("admin:tenants_branding_delete", args=[tenant.branding.pk]),
        reverse("admin:tenants_auditentry_delete", args=[AuditEntry.objects.first().pk]),  # type: ignore[union-attr]
        reverse("admin:meetings_room_delete", args=[Room.objects.first().pk]),  # type: ignore[union-attr]
    ):
        assert operator_client.post(url, {"post": "yes"}).status_code == 403, url
    assert operator_client.get(reverse("admin:tenants_tenant_add")).status_code == 403
    assert Membership.objects.filter(pk=membership.pk).exists() and Tenant.objects.count() == 2


def test_changing_a_tenant_and_its_hosts_goes_through_the_service(
    operator_client, operator, two_tenants, tenant
):
    url = reverse("admin:tenants_tenant_change", args=[tenant.pk])
    data = change_form(operator_client, url)
    assert data["hosts-0-host"] == "portal.uzh.example.org"
    data.update(
        {
            "name": "Universität Zürich",
            "allowed_idps": json.dumps(["https://eduid.ch/idp/shibboleth"]),
            "hosts-0-DELETE": "on",
            "hosts-TOTAL_FORMS": "2",
            "hosts-1-host": "Meet.UZH.example.org",
            "hosts-1-tenant": str(tenant.pk),
        }
    )
    data.pop("is_active")
    # Another tenant's host name, in other letters: refused by the form, nothing changes.
    response = operator_client.post(url, {**data, "hosts-1-host": "PORTAL.eth.example.org"})
    assert response.status_code == 200 and "already exists" in response.content.decode()
    assert not AuditEntry.objects.filter(action="tenant.changed").exists()
    response = operator_client.post(url, data)
    assert response.status_code == 302, response.content.decode()[:3000]
    tenant.refresh_from_db()
    assert tenant.name == "Universität Zürich" and not tenant.is_active
    assert tenant.allowed_idps == ["https://eduid.ch/idp/shibboleth"]
    assert list(TenantHost.objects.filter(tenant=tenant).values_list("host", flat=True)) == [
        "meet.uzh.example.org"
    ]
    assert list(HomeOrganization.objects.filter(tenant=tenant).values_list("domain", flat=True)) == ["uzh.ch"]
    entry = AuditEntry.objects.get(tenant=tenant, actor=operator, action="tenant.changed")
    assert entry.data == {
        "fields": ["name", "allowed_idps", "is_active"],
        "hosts": {"added": ["meet.uzh.example.org"], "removed": ["portal.uzh.example.org"]},
    }


def test_changing_the_deployment_goes_through_the_service(operator_client, operator, two_tenants, tenant):
    dep = tenant.deployment
    secrets = (dep.app_secret, dep.event_secret)
    url = reverse("admin:tenants_jitsideployment_change", args=[dep.pk])
    data = change_form(operator_client, url)
    assert "app_secret" not in data and "event_secret" not in data
    response = operator_client.post(
        url,
        {**data, "base_url": "https://meet2.uzh.example.org", "room_api_url": "http://prosody.internal:5280"},
    )
    assert response.status_code == 302, response.content.decode()
    dep.refresh_from_db()
    assert dep.base_url == "https://meet2.uzh.example.org" and (dep.app_secret, dep.event_secret) == secrets
    entry = AuditEntry.objects.get(tenant=tenant, actor=operator, action="deployment.changed")
    assert entry.data == {"fields": ["base_url", "room_api_url"]}


def test_changing_branding_goes_through_the_service(operator_client, operator, two_tenants, tenant):
    url = reverse("admin:tenants_branding_change", args=[tenant.branding.pk])
    version = tenant.branding.version
    response = operator_client.post(url, {**change_form(operator_client, url), "primary_colour": "#AA0000"})
    assert response.status_code == 302
    branding = Branding.objects.get(tenant=tenant)
    assert branding.primary_colour == "#aa0000" and branding.version == version + 1
    entry = AuditEntry.objects.get(tenant=tenant, actor=operator, action="branding.changed")
    assert entry.data == {"fields": ["primary_colour"]}


def test_archiving_rooms_and_deleting_a_series_go_through_the_services(
    operator_client, operator, two_tenants
):
    mine, theirs = two_tenants
    response = operator_client.post(
        reverse("admin:meetings_room_changelist"),
        {"action": "archive", "_selected_action": [mine.room.pk, theirs.room.pk], "index": "0"},
    )
    assert response.status_code == 302
    assert Room.objects.filter(archived=True).count() == 2
    assert AuditEntry.objects.filter(actor=operator, action="room.archived").count() == 2

    url = reverse("admin:meetings_lectureseries_delete", args=[theirs.series.pk])
    assert operator_client.post(url, {"post": "yes"}).status_code == 302
    assert not LectureSeries.objects.filter(pk=theirs.series.pk).exists()
    assert not OccurrenceChange.objects.filter(series_id=theirs.series.pk).exists()
    entry = AuditEntry.objects.get(tenant=theirs.tenant, actor=operator, action="series.deleted")
    assert entry.data == {"series": theirs.series.code}

    response = operator_client.post(
        reverse("admin:meetings_lectureseries_changelist"),
        {"action": "delete_selected", "_selected_action": [mine.series.pk], "index": "0", "post": "yes"},
    )
    assert response.status_code == 302
    assert not LectureSeries.objects.exists()
    assert AuditEntry.objects.filter(tenant=mine.tenant, actor=operator, action="series.deleted").exists()
