"""The tenant of a join API request, resolved before its room is looked up by (tenant, name).

In this order, as the rest of the API (tenants/api/permissions.py): the API token's own tenant; the
`X-Tenant` header or `?tenant=` query parameter; the tenant whose own host name served the request; the
person's only membership. Unlike the rest of the API the named tenant need not be one of the person's:
invitees and guests of link rooms join rooms of other institutions, and the access matrix
(meetings/access.py) keeps the other rooms invisible. Several memberships (or none) and no hint: 400
`tenant_required`.
"""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from meetings.joining import not_found
from portal.adapters.django_scopes import enter_scope
from tenants import hotcache
from tenants.api.errors import ApiBadRequest
from tenants.api.permissions import named_tenant
from tenants.models import ApiToken, Tenant


def member_tenants(user: Any) -> frozenset[int]:
    """Ids of the active tenants where `user` is an unblocked member, from the per-process copy."""
    found = hotcache.member_tenant_ids(user)
    if found is None:  # a user that did not come through the cached backend (API tokens)
        entry = hotcache.user_entry(user.pk)
        found = entry.member_of if entry is not None else frozenset()
    return found


def hinted_tenant_id(request: Any) -> int | None:
    """The tenant's own host name, else None (the hint the quick path can use without a query)."""
    host_tenant = getattr(request, "host_tenant", None)
    return host_tenant.pk if host_tenant is not None else None


def only_membership(member_of: frozenset[int]) -> int | None:
    return next(iter(member_of)) if len(member_of) == 1 else None


def tenant_required() -> ApiBadRequest:
    message = _(
        "Name the institution of the room in the X-Tenant header (its short name, as in its page addresses): "
        "you belong to several institutions, or to none."
    )
    return ApiBadRequest(message, code="tenant_required", fields={"tenant": [message]})


def join_tenant_id(request: Request) -> int:
    """The request's tenant (see the module's docstring); raises the API's 400 or 404 otherwise."""
    token = request.auth if isinstance(request.auth, ApiToken) else None
    host_id = hinted_tenant_id(request._request)
    slug = named_tenant(request)
    if token is not None:
        if slug is not None and slug != token.tenant.slug:
            message = _("This token acts only in “%(slug)s”.") % {"slug": token.tenant.slug}
            raise ApiBadRequest(message, code="tenant_mismatch", fields={"tenant": [message]})
        if host_id is not None and host_id != token.tenant_id:  # another tenant's host: none of its rooms
            raise exceptions.NotFound(not_found().message, code="not_found")
        return token.tenant_id
    if slug is not None:
        found = Tenant.objects.filter(slug=slug, is_active=True).values_list("pk", flat=True).first()
        if found is None:
            raise exceptions.NotFound(
                _("There is no institution called “%(slug)s” here.") % {"slug": slug}, code="tenant_not_found"
            )
        return found
    if host_id is not None:
        return host_id
    only = only_membership(member_tenants(request.user))
    if only is None:
        raise tenant_required()
    return only


class JoinTenant(BasePermission):
    """Resolves the join's tenant (request.join_tenant_id) and enters its scope for the rest of the request
    (before the throttles, which read the room's cache tokens by it)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        request.join_tenant_id = join_tenant_id(request)  # type: ignore[attr-defined]  # read by the view
        enter_scope(tenant=request.join_tenant_id)  # type: ignore[attr-defined]  # set the line above
        return True
