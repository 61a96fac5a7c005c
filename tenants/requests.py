"""Typed requests for annotations: what the portal's middleware and decorators guarantee a view receives.

Django makes the request objects; these classes only tell the type checker which attributes a view may rely
on (as healthchecks' AuthenticatedHttpRequest does), instead of a `type: ignore` at every use.
"""

from __future__ import annotations

from django.http import HttpRequest
from rest_framework.request import Request

from tenants.models import Membership, Tenant, User


class PortalRequest(HttpRequest):
    """Any request past TenantMiddleware: `tenant` is set (None outside a tenant's pages) and `host_tenant`
    is the tenant whose own host name the request came to, when it did (else the attribute is absent)."""

    tenant: Tenant | None
    host_tenant: Tenant


class TenantRequest(HttpRequest):
    """A request for a tenant's page (its URL names the tenant, which TenantMiddleware found active)."""

    tenant: Tenant


class MemberRequest(TenantRequest):
    """A tenant page's request that tenants.access.tenant_page let through: a signed-in person, and their
    membership of the tenant (None only for operators on pages that admit them without one)."""

    user: User
    membership: Membership | None


class ApiRequest(Request):
    """A DRF request past the API's authentication and IsAuthenticated: `user` is a person (tenants.api)."""

    user: User
