from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from tenants.models import AuditEntry, HomeOrganization, JitsiDeployment, Membership, Tenant, TenantHost, User


class TenantHostInline(admin.TabularInline):
    model = TenantHost
    extra = 0


class HomeOrganizationInline(admin.TabularInline):
    model = HomeOrganization
    extra = 0


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ["slug", "name", "is_active"]
    search_fields = ["slug", "name"]
    inlines = [TenantHostInline, HomeOrganizationInline]


@admin.register(JitsiDeployment)
class JitsiDeploymentAdmin(admin.ModelAdmin):
    list_display = ["slug", "tenant", "base_url", "algorithm"]
    # Secrets are never rendered back; they are rotated through services, not edited here.
    exclude = ["app_secret", "event_secret"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "tenant", "role", "source", "is_blocked"]
    list_filter = ["tenant", "role", "is_blocked"]
    search_fields = ["user__username", "user__email"]


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    list_display = ["created_at", "tenant", "actor", "action", "target"]
    list_filter = ["tenant", "action"]


admin.site.register(User, UserAdmin)
