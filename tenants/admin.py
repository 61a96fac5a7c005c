"""Django admin. Operators (superusers) see every tenant; a staff tenant admin sees only theirs."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import models
from django.db.models import QuerySet
from django.http import HttpRequest

from tenants.models import (
    AuditEntry,
    Branding,
    HomeOrganization,
    JitsiDeployment,
    Membership,
    Tenant,
    TenantHost,
    User,
)


def administered_tenant_ids(request: HttpRequest) -> list[int]:
    if not request.user.is_authenticated:
        return []
    admin_of = Membership.objects.filter(user=request.user, role=Membership.Role.ADMIN, is_blocked=False)
    return list(admin_of.values_list("tenant_id", flat=True))


class TenantScopedAdmin(admin.ModelAdmin):
    """Rows of the tenants the staff user administers, found through `tenant_path` (a lookup to Tenant.id)."""

    tenant_path = "tenant_id"
    # Django 6's default; without it every form with a URL field warns (a 500 where warnings are errors).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(**{f"{self.tenant_path}__in": administered_tenant_ids(request)})


class TenantHostInline(admin.TabularInline):
    model = TenantHost
    extra = 0


class HomeOrganizationInline(admin.TabularInline):
    model = HomeOrganization
    extra = 0


@admin.register(Tenant)
class TenantAdmin(TenantScopedAdmin):
    tenant_path = "id"
    list_display = ["slug", "name", "is_active"]
    search_fields = ["slug", "name"]
    inlines = [TenantHostInline, HomeOrganizationInline]


@admin.register(JitsiDeployment)
class JitsiDeploymentAdmin(TenantScopedAdmin):
    list_display = ["slug", "tenant", "base_url", "algorithm"]
    # Secrets are never rendered back; they are rotated through services, not edited here.
    exclude = ["app_secret", "event_secret"]


@admin.register(Membership)
class MembershipAdmin(TenantScopedAdmin):
    list_display = ["user", "tenant", "role", "source", "is_blocked"]
    list_filter = ["role", "is_blocked"]
    search_fields = ["user__username", "user__email"]


@admin.register(AuditEntry)
class AuditEntryAdmin(TenantScopedAdmin):
    list_display = ["created_at", "tenant", "actor", "action", "target"]
    list_filter = ["action"]


@admin.register(Branding)
class BrandingAdmin(TenantScopedAdmin):
    list_display = ["tenant", "primary_colour", "updated_at"]


admin.site.register(User, UserAdmin)
