"""Tenant resolution by path prefix and by the tenant's own host name."""

from __future__ import annotations

import pytest

from tenants.middleware import forget_hosts
from tenants.models import Tenant, TenantHost

pytestmark = pytest.mark.django_db


def test_path_prefix_resolves_tenant(client, tenant):
    response = client.get("/uzh/")
    assert response.status_code == 200
    assert response.context["tenant"] == tenant
    assert b"University of Zurich" in response.content


def test_unknown_tenant_is_a_clear_404(client, tenant):
    response = client.get("/nowhere/")
    assert response.status_code == 404
    assert "There is no institution called “nowhere” here." in response.content.decode()


def test_own_host_serves_tenant_without_prefix(client, tenant, other_tenant, settings):
    settings.ALLOWED_HOSTS = ["meet.uzh.example", "testserver"]
    TenantHost.objects.create(tenant=tenant, host="meet.uzh.example")
    forget_hosts()
    response = client.get("/", HTTP_HOST="meet.uzh.example", follow=True)
    assert response.status_code == 200
    assert response.context["tenant"] == tenant
    # Another tenant's pages are not reachable through this tenant's host.
    assert client.get("/eth/", HTTP_HOST="meet.uzh.example").status_code == 404
    forget_hosts()


def test_a_tenant_host_costs_no_query_once_known(client, tenant, settings, django_assert_num_queries):
    settings.ALLOWED_HOSTS = ["meet.uzh.example", "testserver"]
    TenantHost.objects.create(tenant=tenant, host="meet.uzh.example")
    forget_hosts()
    client.get("/healthz", HTTP_HOST="meet.uzh.example")  # loads the host map
    with django_assert_num_queries(0):  # nothing for the host (and /healthz asks nothing itself)
        assert client.get("/healthz", HTTP_HOST="meet.uzh.example").status_code == 200
    forget_hosts()


def test_a_switched_off_tenants_host_serves_nothing_of_it(client, tenant, settings):
    settings.ALLOWED_HOSTS = ["meet.uzh.example", "testserver"]
    TenantHost.objects.create(tenant=tenant, host="meet.uzh.example")
    forget_hosts()
    assert client.get("/", HTTP_HOST="meet.uzh.example", follow=True).status_code == 200
    # Switched off by another process: this process's host map still has the host for a while...
    Tenant.objects.filter(pk=tenant.pk).update(is_active=False)
    assert client.get("/", HTTP_HOST="meet.uzh.example", follow=True).status_code == 404  # ...but no page
    # Switched off here: the host map forgets at once (tenants/middleware.connect); the portal answers.
    tenant.is_active = False
    tenant.save(update_fields=["is_active"])
    response = client.get("/", HTTP_HOST="meet.uzh.example", follow=True)
    assert response.status_code == 200
    assert tenant.name.encode() not in response.content
    forget_hosts()


def test_inactive_tenant_is_unknown(client, tenant):
    tenant.is_active = False
    tenant.save(update_fields=["is_active"])
    assert client.get("/uzh/").status_code == 404


def test_healthz_is_liveness_only(client, django_assert_num_queries):
    with django_assert_num_queries(0):  # no database (nor Redis): /readyz is for those
        response = client.get("/healthz")
    assert response.json() == {"status": "ok"}
