"""Django admin of institutions and people, for operators only (nobody else gets in: portal/admin.py).

Every save goes through tenants.services, so each change leaves an audit row like a change in the console.
What has no service is read-only here: a tenant is created with `manage.py create_tenant`; secrets are
rotated in the tenant console (/<tenant>/manage/deployment/) and never shown; the audit log is not edited."""

from __future__ import annotations

from typing import Any, cast

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.db import models
from django.http import HttpRequest
from django.utils.translation import gettext as _

from tenants import services
from tenants.forms import BrandingForm
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


class NoAddOrDeleteAdmin(admin.ModelAdmin):
    """Rows made and removed elsewhere (a service or command); here they are only changed."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LowercaseForm(forms.ModelForm):
    """Host names and domains are stored lowercase: checked for uniqueness as they will be stored."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for field in ("host", "domain"):
            if isinstance(data.get(field), str):
                data[field] = data[field].strip().lower()
        return data


class TenantHostInline(admin.TabularInline):
    model = TenantHost
    form = LowercaseForm
    extra = 0


class HomeOrganizationInline(admin.TabularInline):
    model = HomeOrganization
    form = LowercaseForm
    extra = 0


def kept_values(formset: Any, field: str) -> list[str]:
    """The values an inline formset ends with: its rows minus those ticked for deletion, plus new ones."""
    return [
        form.cleaned_data[field]
        for form in formset.forms
        if form.cleaned_data and not form.cleaned_data.get("DELETE")
    ]


@admin.register(Tenant)
class TenantAdmin(NoAddOrDeleteAdmin):
    """Created by `manage.py create_tenant` (with its deployment); switched off, never deleted (its audit log
    would go with it)."""

    list_display = ["slug", "name", "is_active"]
    search_fields = ["slug", "name"]
    fields = ["slug", *services.TENANT_FIELDS]  # what change_tenant may change, and the slug to read
    readonly_fields = ["slug"]
    inlines = [TenantHostInline, HomeOrganizationInline]

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        """Saved with its host names and home organisations in save_related, in one service call."""

    def save_related(self, request: HttpRequest, form: Any, formsets: Any, change: bool) -> None:
        lists: dict[str, list[str]] = {}
        for formset in formsets:
            # Sets the formset's new/changed/deleted objects for the admin's history message; saves nothing.
            formset.save(commit=False)
            if formset.model is TenantHost:
                lists["hosts"] = kept_values(formset, "host")
            elif formset.model is HomeOrganization:
                lists["home_organizations"] = kept_values(formset, "domain")
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        services.change_tenant(actor=request.user, tenant=form.instance, **lists, **changes)  # type: ignore[arg-type]  # the site admits only signed-in operators


@admin.register(JitsiDeployment)
class JitsiDeploymentAdmin(NoAddOrDeleteAdmin):
    """Created with its tenant. Secrets are never shown; the event secret and signing keys are rotated in the
    tenant console. The slug (in Prosody's URLs) and the algorithm (it needs its secret or keys) stay."""

    list_display = ["slug", "tenant", "base_url", "algorithm"]
    list_select_related = ["tenant"]
    search_fields = ["slug", "tenant__slug", "base_url"]
    fields = ["slug", "tenant", "algorithm", *services.DEPLOYMENT_FIELDS]
    readonly_fields = ["slug", "tenant", "algorithm"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}

    def save_model(self, request: HttpRequest, obj: JitsiDeployment, form: Any, change: bool) -> None:
        changes = {name: form.cleaned_data[name] for name in form.changed_data}
        services.change_deployment(actor=request.user, deployment=obj, **changes)  # type: ignore[arg-type]  # operators only


class MembershipAdminForm(forms.ModelForm):
    # Set by MembershipAdmin.get_form on the class it builds for one request.
    actor: Any = None

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.instance.pk and self.actor is not None and self.instance.user_id == self.actor.pk:
            if data.get("role", self.instance.role) != Membership.Role.ADMIN:
                self.add_error("role", _("You cannot take away your own administrator role."))
            if data.get("is_blocked"):
                self.add_error("is_blocked", _("You cannot block yourself."))
        return data


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    """Adding grants a role (services.grant_role); changing sets the role or blocks. People are blocked, not
    removed: a membership from sign-in would come back with the next sign-in."""

    form = MembershipAdminForm
    list_display = ["user", "tenant", "role", "source", "is_blocked"]
    list_filter = ["role", "is_blocked", "tenant"]
    list_select_related = ["user", "tenant"]
    search_fields = ["user__username", "user__email", "tenant__slug"]
    autocomplete_fields = ["user", "tenant"]

    def get_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ("user", "tenant", "role", "is_blocked")
        return ("user", "tenant", "role", "is_blocked", "source", "created_at", "last_login_at")

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        return ("user", "tenant", "source", "created_at", "last_login_at")

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        form = cast(type[MembershipAdminForm], super().get_form(request, obj, change, **kwargs))
        form.actor = request.user  # a class made for this request by modelform_factory
        return form

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        actor: User = request.user  # type: ignore[assignment]  # the site admits only signed-in operators
        if not change:
            granted = services.grant_role(actor=actor, tenant=obj.tenant, user=obj.user, role=obj.role)
            if obj.is_blocked:
                services.set_member_blocked(actor=actor, membership=granted, blocked=True)
            obj.pk = granted.pk
            obj.refresh_from_db()
            return
        stored = Membership.objects.select_related("user", "tenant").get(pk=obj.pk)
        if "role" in form.changed_data:
            services.change_member_role(actor=actor, membership=stored, role=obj.role)
        if "is_blocked" in form.changed_data:
            services.set_member_blocked(actor=actor, membership=stored, blocked=obj.is_blocked)


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):
    """The audit log is written by services only."""

    list_display = ["created_at", "tenant", "actor", "action", "target"]
    list_filter = ["action", "tenant"]
    list_select_related = ["tenant", "actor"]
    search_fields = ["action", "target", "tenant__slug"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Branding)
class BrandingAdmin(NoAddOrDeleteAdmin):
    """The console's form and service (image checks, version bump, audit row); rows come from the console."""

    form = BrandingForm
    list_display = ["tenant", "primary_colour", "updated_at"]
    list_select_related = ["tenant"]
    fields = [
        "tenant",
        "logo",
        "remove_logo",
        "background_image",
        "remove_background_image",
        "primary_colour",
        "background_colour",
        "welcome_text",
        "support_url",
        "default_language",
    ]
    readonly_fields = ["tenant"]

    def save_model(self, request: HttpRequest, obj: Branding, form: Any, change: bool) -> None:
        changes = {k: v for k, v in form.changes().items() if k in services.BRANDING_FIELDS}
        services.change_branding(actor=request.user, tenant=obj.tenant, changes=changes)  # type: ignore[arg-type]  # operators only


admin.site.register(User, UserAdmin)
