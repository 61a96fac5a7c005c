"""The Django admin site: for the portal's operators (active superusers) and nobody else.

The admin lists the rows of every tenant, so a per-model filter for staff users would have to be right in
every changelist, form, autocomplete and inline; instead nobody but an operator gets any admin page at all
(DESIGN.md, tenant isolation rule 8). Administrators of an institution work in its console, /<tenant>/manage/.
Installed as the default site by portal.apps.OperatorAdminConfig."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth.forms import AuthenticationForm
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

CONSOLE_PATTERN = "/<institution>/manage/"


def is_operator(user: Any) -> bool:
    return bool(getattr(user, "is_active", False) and getattr(user, "is_superuser", False))


def consoles_of(user: Any) -> list[tuple[str, str]]:
    """(institution name, console URL) of each active tenant the user administers."""
    if not getattr(user, "is_authenticated", False):
        return []
    from tenants.models import Membership

    memberships = Membership.objects.filter(
        user=user, role=Membership.Role.ADMIN, is_blocked=False, tenant__is_active=True
    ).select_related("tenant")
    return [
        (m.tenant.name, reverse("console:overview", kwargs={"tenant": m.tenant.slug}))
        for m in memberships.order_by("tenant__name")
    ]


class OperatorAuthenticationForm(AuthenticationForm):
    """The admin's sign-in form: right password or not, only operators get in."""

    required_css_class = "required"

    def confirm_login_allowed(self, user: Any) -> None:
        super().confirm_login_allowed(user)
        if not is_operator(user):
            raise ValidationError(
                _(
                    "This admin is for the portal's operators only. Administrators of an institution "
                    "work in its console at %(console)s."
                ),
                code="not_operator",
                params={"console": CONSOLE_PATTERN},
            )


class OperatorAdminSite(admin.AdminSite):
    site_header = _("auditorium operators")
    site_title = _("auditorium operators")
    login_form = OperatorAuthenticationForm
    login_template = "admin/operator_login.html"

    def has_permission(self, request: HttpRequest) -> bool:
        # Every admin view (model pages, autocomplete, jsi18n, password change, view-on-site) asks this.
        return is_operator(request.user)

    def each_context(self, request: HttpRequest) -> dict[str, Any]:
        context = super().each_context(request)
        if not context["has_permission"]:
            # The sign-in page of someone who may not use the admin names no app of it, only their consoles.
            context["available_apps"] = []
            context["tenant_consoles"] = consoles_of(request.user)
            context["console_pattern"] = CONSOLE_PATTERN
        return context
