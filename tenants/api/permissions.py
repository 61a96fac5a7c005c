"""Who may call what: the request's tenant, the caller's membership, and scopes.

Tenant of an API request (never taken from a payload):
1. Token authentication: the token's tenant. A token acts in exactly one tenant; naming another one with
   `X-Tenant` or `?tenant=` is refused (400, code `tenant_mismatch`).
2. Session authentication: the `X-Tenant` header, else the `?tenant=` query parameter, else the tenant whose
   own host name served the request, else the person's only membership. A person with several memberships
   must name one (400, code `tenant_required`). A named tenant the person is not an (unblocked) member of
   answers 404, exactly like one that does not exist.

Scopes: a token has the scopes it was given, narrowed to what its owner's current role allows; a session
user has every scope of their role (see services.ROLE_SCOPES).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from rest_framework import exceptions
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from portal.adapters.django_scopes import enter_scope
from portal.validators import refuse_control_characters
from tenants.api.errors import ApiBadRequest
from tenants.api.services import role_scopes
from tenants.models import ApiToken, Membership, Tenant

TENANT_HEADER = "HTTP_X_TENANT"
TENANT_QUERY = "tenant"


@dataclass(frozen=True)
class ApiContext:
    tenant: Tenant
    membership: Membership
    scopes: frozenset[str]
    token: ApiToken | None

    @property
    def via_token(self) -> bool:
        return self.token is not None


def named_tenant(request: Request) -> str | None:
    slug = request.META.get(TENANT_HEADER) or request.query_params.get(TENANT_QUERY)
    if slug:
        try:
            refuse_control_characters(slug)  # NUL would reach the database
        except ValidationError as exc:
            raise ApiBadRequest(
                " ".join(exc.messages), code="invalid", fields={"tenant": list(exc.messages)}
            ) from None
    return slug.strip().lower() if slug and slug.strip() else None


def _membership(user: Any, tenant_filter: dict[str, Any]) -> Membership | None:
    return (
        Membership.objects.select_related("tenant")
        .filter(user_id=user.pk, is_blocked=False, tenant__is_active=True, **tenant_filter)
        .first()
    )


def resolve_api_context(request: Request) -> ApiContext:
    """Find the request's tenant and the caller's membership there (cached on the request)."""
    cached = getattr(request, "api_context", None)
    if cached is not None:
        return cached
    user: Any = request.user
    token = request.auth if isinstance(request.auth, ApiToken) else None
    slug = named_tenant(request)
    if token is not None:
        if slug is not None and slug != token.tenant.slug:
            message = _("This token acts only in “%(slug)s”.") % {"slug": token.tenant.slug}
            raise ApiBadRequest(message, code="tenant_mismatch", fields={"tenant": [message]})
        membership = _membership(user, {"tenant_id": token.tenant_id})
        if membership is None:
            raise exceptions.PermissionDenied(
                _("You are no longer a member of %(tenant)s, so this token cannot act there.")
                % {"tenant": token.tenant.name},
                code="not_a_member",
            )
        scopes = frozenset(token.scopes) & role_scopes(membership)
    else:
        host_tenant = getattr(request, "host_tenant", None)  # set on the HttpRequest; DRF passes it through
        if slug is not None:
            membership = _membership(user, {"tenant__slug": slug})
            if membership is None:
                raise exceptions.NotFound(
                    _("You are not a member of an institution called “%(slug)s”.") % {"slug": slug},
                    code="tenant_not_found",
                )
        elif host_tenant is not None:
            membership = _membership(user, {"tenant_id": host_tenant.pk})
            if membership is None:
                raise exceptions.NotFound(
                    _("You are not a member of %(tenant)s.") % {"tenant": host_tenant.name},
                    code="tenant_not_found",
                )
        else:
            memberships = list(
                Membership.objects.select_related("tenant").filter(
                    user_id=user.pk, is_blocked=False, tenant__is_active=True
                )[:2]
            )
            if not memberships:
                raise exceptions.PermissionDenied(
                    _("You are not a member of any institution here."), code="not_a_member"
                )
            if len(memberships) > 1:
                message = _("You belong to several institutions: name one in the X-Tenant header.")
                raise ApiBadRequest(message, code="tenant_required", fields={"tenant": [message]})
            membership = memberships[0]
        scopes = role_scopes(membership)
    context = ApiContext(tenant=membership.tenant, membership=membership, scopes=scopes, token=token)
    request.api_context = context  # type: ignore[attr-defined]  # the portal's attributes on DRF's request
    request.tenant = membership.tenant  # type: ignore[attr-defined]  # idem
    enter_scope(tenant=membership.tenant)  # the rest of the request: this tenant's rows only
    return context


def api_context(request: Request) -> ApiContext:
    """The context a TenantScoped permission resolved for this request."""
    return resolve_api_context(request)


def missing_scope(context: ApiContext, scope: str) -> exceptions.PermissionDenied:
    if context.via_token and scope in role_scopes(context.membership):
        message = _("This API token does not have the “%(scope)s” scope.") % {"scope": scope}
    elif context.via_token:
        message = _(
            "This API token cannot use the “%(scope)s” scope: your role in %(tenant)s (%(role)s) does not "
            "allow it."
        ) % {"scope": scope, "tenant": context.tenant.name, "role": context.membership.get_role_display()}
    else:
        message = _("Your role in %(tenant)s (%(role)s) does not allow this (it needs “%(scope)s”).") % {
            "scope": scope,
            "tenant": context.tenant.name,
            "role": context.membership.get_role_display(),
        }
    return exceptions.PermissionDenied(message, code="missing_scope")


class TenantScoped(BasePermission):
    """Resolves the request's tenant and checks the scope the view needs for this method.

    Views declare `required_scopes = {"GET": "rooms:read", "POST": "rooms:write", ...}`; a method not
    listed needs no scope beyond membership."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False  # DRF answers 401 with the authenticate header
        context = resolve_api_context(request)
        method = "GET" if request.method == "HEAD" else request.method
        scope = getattr(view, "required_scopes", {}).get(method)
        if scope and scope not in context.scopes:
            raise missing_scope(context, scope)
        return True


def token_scope(scope: str) -> type[BasePermission]:
    """For endpoints that look across tenants themselves (the join API): a token must carry `scope`
    (narrowed by its owner's role in the token's tenant); session requests pass, the view checks them.

    Usage: `permission_classes = [IsAuthenticated, token_scope(ApiToken.Scope.JOIN)]`."""

    class TokenScope(BasePermission):
        def has_permission(self, request: Request, view: Any) -> bool:
            if not isinstance(request.auth, ApiToken):
                return True
            context = resolve_api_context(request)
            if scope not in context.scopes:
                raise missing_scope(context, scope)
            return True

    TokenScope.__name__ = TokenScope.__qualname__ = f"TokenScope[{scope}]"
    return TokenScope


class SessionOnly(BasePermission):
    """Managing tokens needs a signed-in session: a leaked token cannot mint or hide other tokens."""

    def has_permission(self, request: Request, view: Any) -> bool:
        if not (request.user and request.user.is_authenticated):
            return False
        if isinstance(request.auth, ApiToken):
            raise exceptions.PermissionDenied(
                _("API tokens cannot manage tokens. Sign in to the portal to create or revoke tokens."),
                code="session_required",
            )
        return True
