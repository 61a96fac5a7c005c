"""Tenant isolation by construction: a query on a tenant-owned model needs the scope of a tenant.

Tenant-owned models use `tenant_scoped()` as their default manager (django-scopes' ScopedManager on the
`tenant` field): inside `scope(tenant=...)` every query is filtered to that tenant; outside any scope a query
raises ScopeError when TENANT_SCOPES_STRICT is on (development and tests), and in production is logged and
runs unfiltered, so a missed scope is a warning in the logs, never a 500. The scope is entered explicitly:
TenantMiddleware for pages (from the URL) and the admin (operators: cross-tenant), TenantScoped and JoinTenant
for the API, the websocket consumers, management commands; the few cross-tenant reads say so with
`scopes_disabled()` and a one-line reason. Related rows reached through a foreign key (room.tenant,
series.room) use the base manager and need no scope.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django_scopes import get_scope
from django_scopes.manager import DisabledQuerySet

logger = logging.getLogger("auditorium.scopes")

_M = TypeVar("_M", bound=models.Model)


class TenantScopedManager(models.Manager[_M]):
    """The default manager of a model with a `tenant` foreign key: django-scopes' rule on the `tenant`
    dimension (as its ScopedManager), written out so that the type checker knows the models' managers."""

    def get_queryset(self) -> models.QuerySet[_M]:
        queryset = super().get_queryset()
        current: dict[str, Any] = get_scope()
        if not current.get("_enabled", True):  # scopes_disabled(): a cross-tenant read that says why
            return queryset
        if "tenant" not in current:
            if settings.TENANT_SCOPES_STRICT:  # raises ScopeError as soon as the query is used
                return DisabledQuerySet(self.model, using=self._db, missing_scopes=["tenant"])
            logger.warning("query on %s outside a tenant scope", self.model.__name__)
            return queryset
        return queryset.filter(tenant=current["tenant"])

    def cross_tenant(self) -> models.QuerySet[_M]:
        """Every tenant's rows, whatever the scope: for the few reads that must cross tenants (the caller
        says why in a comment). Lazy querysets handed to a view need this rather than scopes_disabled()."""
        return super().get_queryset()
