"""Who may do what in a tenant. Every tenant page goes through these helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tenants.models import Membership, Tenant


def membership_of(user: Any, tenant: Tenant) -> Membership | None:
    """The user's unblocked membership of the tenant, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, tenant=tenant, is_blocked=False).first()


def refusal(request: HttpRequest, *, title: str, message: str, status: int = 403) -> HttpResponse:
    """A refusal a person understands: what happened and what to do about it."""
    return render(request, "refused.html", {"title": title, "message": message}, status=status)


View = Callable[..., HttpResponse]


def tenant_page(
    *,
    allows: Callable[[Membership], bool] | None = None,
    title: str | Promise = "",
    message: str | Promise = "",
    operators: bool = False,
) -> Callable[[View], View]:
    """Guard a page of request.tenant (set by TenantMiddleware).

    Signed-out people are sent to sign in; people who are not (or no longer) members get 404, so another
    institution learns nothing, not even that the page exists; members whom `allows` refuses get a 403 page
    saying `title` and `message` (`%(tenant)s` is the institution's name). With `operators`, superusers pass
    without a membership (request.membership is then None): only pages written for that may say so."""

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                from django.contrib.auth.views import redirect_to_login

                return redirect_to_login(request.get_full_path())
            tenant = request.tenant  # type: ignore[attr-defined]  # set by TenantMiddleware (tenants/requests.py)
            membership = membership_of(request.user, tenant)
            if not (operators and request.user.is_superuser):
                if membership is None:
                    raise Http404(_("There is no such page."))
                if allows is not None and not allows(membership):
                    return refusal(request, title=str(title), message=str(message) % {"tenant": tenant.name})
            request.membership = membership  # type: ignore[attr-defined]  # the portal's attribute on Django's request (MemberRequest)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


member_required = tenant_page()
host_required = tenant_page(
    allows=lambda m: m.may_host,
    title=gettext_lazy("For lecturers only"),
    message=gettext_lazy("Only hosts and administrators of %(tenant)s can manage rooms."),
)
admin_required = tenant_page(
    allows=lambda m: m.is_admin,
    title=gettext_lazy("For administrators only"),
    message=gettext_lazy("Only administrators of %(tenant)s can change this."),
    operators=True,
)
