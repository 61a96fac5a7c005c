"""Who may do what in a tenant. Every tenant page goes through these helpers."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from tenants.models import Membership, Tenant


def membership_of(user: Any, tenant: Tenant) -> Membership | None:
    """The user's unblocked membership of the tenant, or None."""
    if not getattr(user, "is_authenticated", False):
        return None
    return Membership.objects.filter(user=user, tenant=tenant, is_blocked=False).first()


def refusal(request: HttpRequest, *, title: str, message: str, status: int = 403) -> HttpResponse:
    """A refusal a person understands: what happened and what to do about it."""
    return render(request, "refused.html", {"title": title, "message": message}, status=status)


def member_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """The signed-in user must be an unblocked member of request.tenant (set by TenantMiddleware)."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        membership = membership_of(request.user, request.tenant)  # type: ignore[attr-defined]
        if membership is None:
            return refusal(
                request,
                title=_("Not a member of this institution"),
                message=_("You are signed in, but not as a member of %(tenant)s.")
                % {"tenant": request.tenant.name},  # type: ignore[attr-defined]
            )
        request.membership = membership  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper


def role_required(*roles: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @member_required
        @functools.wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.membership.role not in roles:  # type: ignore[attr-defined]
                return refusal(
                    request,
                    title=_("Not allowed"),
                    message=_("This page is for %(roles)s of the institution.") % {"roles": ", ".join(roles)},
                )
            return view(request, *args, **kwargs)

        return wrapper

    return decorate


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Admins of request.tenant (and operators) only: outsiders get 404, other members 403."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not request.user.is_authenticated:
            from django.contrib.auth.views import redirect_to_login

            return redirect_to_login(request.get_full_path())
        tenant = request.tenant  # type: ignore[attr-defined]
        membership = membership_of(request.user, tenant)
        if not request.user.is_superuser:
            if membership is None:
                # Another institution's admin learns nothing, not even that this console exists.
                raise Http404(_("There is no such page."))
            if not membership.is_admin:
                return refusal(
                    request,
                    title=_("For administrators only"),
                    message=_("Only administrators of %(tenant)s can change this.") % {"tenant": tenant.name},
                )
        request.membership = membership  # type: ignore[attr-defined]
        return view(request, *args, **kwargs)

    return wrapper
