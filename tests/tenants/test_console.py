"""The institution admin console: access, members, audit log, deployment secrets."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tenants.models import AuditEntry, JitsiDeployment, Membership
from tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db

PAGES = [
    "console:overview",
    "console:branding",
    "console:members",
    "console:rooms",
    "console:audit",
    "console:deployment",
    "console:statistics",
]


@pytest.mark.parametrize("name", PAGES)
def test_admin_sees_page(client, admin_user, name):
    client.force_login(admin_user)
    assert client.get(reverse(name, kwargs={"tenant": "uzh"})).status_code == 200


@pytest.mark.parametrize("name", PAGES)
def test_outsider_admin_gets_404(client, tenant, outsider, name):
    client.force_login(outsider)
    response = client.get(reverse(name, kwargs={"tenant": "uzh"}))
    assert response.status_code == 404


@pytest.mark.parametrize("name", PAGES)
def test_host_who_is_not_admin_gets_403_page(client, host, name):
    client.force_login(host)
    response = client.get(reverse(name, kwargs={"tenant": "uzh"}))
    assert response.status_code == 403
    assert "Only administrators of University of Zurich can change this." in response.content.decode()


def test_anonymous_is_sent_to_sign_in(client, tenant):
    response = client.get("/uzh/manage/")
    assert response.status_code == 302
    assert response["Location"].startswith("/saml2/login/?next=/uzh/manage/")


def test_operator_sees_every_tenant(client, tenant):
    operator = UserFactory(username="operator", is_superuser=True, is_staff=True)
    client.force_login(operator)
    assert client.get("/uzh/manage/members/").status_code == 200


def test_member_search_and_role_change_is_audited(client, admin_user, member, other_tenant):
    stranger = MembershipFactory(tenant=other_tenant, user=UserFactory(username="stranger")).user
    client.force_login(admin_user)
    page = client.get("/uzh/manage/members/", {"q": "stud"}).content.decode()
    assert member.email in page
    assert admin_user.email not in page
    everyone = client.get("/uzh/manage/members/").content.decode()
    assert admin_user.email in everyone and stranger.email not in everyone

    response = client.post(f"/uzh/manage/members/{member.public_id}/role/", {"role": "host"})
    assert response.status_code == 302
    membership = Membership.objects.get(user=member, tenant__slug="uzh")
    assert (membership.role, membership.source) == ("host", "assigned")
    entry = AuditEntry.objects.get(action="membership.role_changed")
    assert (entry.actor, entry.target, entry.data) == (
        admin_user,
        "student",
        {"old": "member", "new": "host"},
    )
    assert "membership.role_changed" in client.get("/uzh/manage/audit/").content.decode()


def test_bad_role_changes_nothing(client, admin_user, member):
    client.force_login(admin_user)
    response = client.post(f"/uzh/manage/members/{member.public_id}/role/", {"role": "emperor"}, follow=True)
    assert "Choose one of the roles offered." in response.content.decode()
    assert Membership.objects.get(user=member).role == "member"
    assert not AuditEntry.objects.filter(action="membership.role_changed").exists()


def test_admin_cannot_demote_or_block_self(client, admin_user):
    client.force_login(admin_user)
    response = client.post(
        f"/uzh/manage/members/{admin_user.public_id}/role/", {"role": "member"}, follow=True
    )
    assert "You cannot take away your own administrator role." in response.content.decode()
    response = client.post(
        f"/uzh/manage/members/{admin_user.public_id}/block/", {"blocked": "1"}, follow=True
    )
    assert "You cannot block yourself." in response.content.decode()
    assert Membership.objects.get(user=admin_user).role == "admin"
    assert not Membership.objects.get(user=admin_user).is_blocked


def test_members_of_another_tenant_cannot_be_touched(client, admin_user, outsider):
    client.force_login(admin_user)
    response = client.post(f"/uzh/manage/members/{outsider.public_id}/role/", {"role": "member"})
    assert response.status_code == 404
    assert (
        client.post(f"/uzh/manage/members/{outsider.public_id}/block/", {"blocked": "1"}).status_code == 404
    )
    assert Membership.objects.get(user=outsider).role == "admin"


def test_blocked_member_is_shut_out_and_audited(client, admin_user, member):
    client.force_login(admin_user)
    client.post(f"/uzh/manage/members/{member.public_id}/block/", {"blocked": "1"})
    assert Membership.objects.get(user=member).is_blocked
    assert AuditEntry.objects.filter(action="membership.blocked", target="student").exists()
    client.force_login(member)
    page = client.get("/uzh/").content.decode()
    assert "You are signed in, but not as a member of this institution." in page
    client.force_login(admin_user)
    client.post(f"/uzh/manage/members/{member.public_id}/block/", {"blocked": "0"})
    assert not Membership.objects.get(user=member).is_blocked
    assert AuditEntry.objects.filter(action="membership.unblocked").exists()


def test_deployment_page_never_shows_secrets_in_full(client, admin_user, tenant):
    client.force_login(admin_user)
    dep = JitsiDeployment.objects.get(tenant=tenant)
    page = client.get("/uzh/manage/deployment/").content.decode()
    assert dep.app_secret not in page and dep.event_secret not in page
    assert dep.event_secret[-4:] in page
    assert 'api_prefix = "http' in page and "/jitsi/uzh" in page


def test_rotating_event_secret_shows_it_once_and_audits(client, admin_user, tenant):
    client.force_login(admin_user)
    before = JitsiDeployment.objects.get(tenant=tenant).event_secret
    response = client.post("/uzh/manage/deployment/", {"rotate": "event_secret"})
    after = JitsiDeployment.objects.get(tenant=tenant).event_secret
    assert after != before
    assert after in response.content.decode()
    assert after not in client.get("/uzh/manage/deployment/").content.decode()
    assert AuditEntry.objects.filter(action="deployment.event_secret_rotated", actor=admin_user).exists()


def test_django_admin_sends_a_staff_tenant_admin_to_the_console(
    client, admin_user, tenant, other_tenant, outsider
):
    """The Django admin is for operators; tests/tenants/test_admin_policy.py walks all of it."""
    admin_user.is_staff = True
    admin_user.save(update_fields=["is_staff"])
    client.force_login(admin_user)
    response = client.get("/admin/tenants/membership/", follow=True)
    page = response.content.decode()
    assert response.redirect_chain[-1][0].startswith("/admin/login/")
    assert 'href="/uzh/manage/"' in page and "outsider" not in page and "ETH Zurich" not in page


def test_rotating_the_signing_key_keeps_the_old_one_served(client, admin_user, tenant):
    from tenants import keys
    from tenants.models import SigningKey

    first = keys.ensure_active_key(tenant=tenant)
    client.force_login(admin_user)
    response = client.post("/uzh/manage/deployment/", {"rotate": "signing_key"}, follow=True)
    new = SigningKey.objects.get(tenant=tenant, is_active=True)
    assert new.kid != first.kid
    page = response.content.decode()
    assert f"A new signing key ({new.kid}) signs tokens now" in page
    assert first.kid in page and new.kid in page and "still served for the grace period" in page
    assert first.private_pem not in page and new.private_pem not in page
    old_url = f"/jitsi/uzh/asap/{keys.kid_digest(first.kid)}.pem"
    assert client.get(old_url).content.decode() == first.public_pem
    assert AuditEntry.objects.filter(action="signing_key.rotated", actor=admin_user, target=new.kid).exists()


def test_rotation_needs_a_known_choice(client, admin_user, tenant):
    client.force_login(admin_user)
    response = client.post("/uzh/manage/deployment/", {"rotate": "everything"})
    assert response.status_code == 200
    assert "Choose what to rotate." in response.content.decode()
    assert not AuditEntry.objects.filter(action__contains="rotated").exists()


def test_outsider_cannot_rotate_anything(client, outsider, tenant):
    before = tenant.deployment.event_secret
    client.force_login(outsider)
    assert client.post("/uzh/manage/deployment/", {"rotate": "event_secret"}).status_code == 404
    assert client.post("/uzh/manage/deployment/", {"rotate": "signing_key"}).status_code == 404
    tenant.deployment.refresh_from_db()
    assert tenant.deployment.event_secret == before


def test_operators_pass_only_the_console_not_member_pages(client, tenant):
    """A superuser without a membership administers the tenant, but has no member pages there (no tokens,
    no rooms): those act as a member and would have none to act as."""
    operator = UserFactory(username="operator2", is_superuser=True, is_staff=True)
    client.force_login(operator)
    assert client.get("/uzh/manage/").status_code == 200
    assert client.get("/uzh/settings/tokens/").status_code == 404
    assert client.get("/uzh/rooms/").status_code == 404
    assert client.get("/uzh/lectures/").status_code == 404
