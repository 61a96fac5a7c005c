"""Resolve the tenant of a request: by its own host name, else by the /<tenant>/ path prefix."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from portal.adapters.django_scopes import enter_cross_tenant, enter_scope, request_scope
from portal.process_cache import LocalCache
from tenants.models import Tenant, TenantHost

# Paths that belong to the portal on every host; everything else on a tenant's host is that tenant's page.
PORTAL_PREFIXES = (
    "/admin/",
    "/saml2/",
    "/api/",
    "/jitsi/",
    "/static/",
    "/media/",
    "/ws/",
    "/new/",
    "/streams/",
    "/accounts/",
    "/healthz",
    "/readyz",
    "/dev-idp/",
    "/jsi18n/",
)


_HOST_MAP_TTL = 30.0
# No generation token: the map is read on every request, and a token would cost every request a Redis round
# trip. A change in this process is seen at once (receivers below), in other processes within the TTL.
_hosts: LocalCache[dict[str, Tenant]] = LocalCache(
    "tenant hosts", max_age=_HOST_MAP_TTL, limit=1, holds="host name -> its active tenant, all hosts"
)


def _load_hosts() -> dict[str, Tenant]:
    return {
        h.host: h.tenant for h in TenantHost.objects.filter(tenant__is_active=True).select_related("tenant")
    }


def host_map() -> dict[str, Tenant]:
    """Host name -> its active tenant, refreshed every 30 s so that requests cost no query for it (a join on
    a tenant's own host name included). A tenant switched off meanwhile keeps its host for those seconds,
    but no page or room of it is found: they are looked up as active."""
    return _hosts.get("all", (), _load_hosts)


def forget_hosts(*args: Any, **kwargs: Any) -> None:
    """Host names changed (a signal receiver): this process sees them at once. A tenant switched off keeps
    its host until the map's age runs out, but nothing of it is found (see host_map)."""
    _hosts.clear()


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    for signal in (post_save, post_delete):
        for model in (Tenant, TenantHost):
            signal.connect(forget_hosts, sender=model, dispatch_uid=f"forget_hosts_{model.__name__}")


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Every request starts without a tenant scope (tenants/scoping.py) and leaves the one it entered.
        with request_scope():
            return self._resolve_host(request)

    def _resolve_host(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]  # the portal's attribute on Django's request (PortalRequest)
        host = request.get_host().split(":")[0].lower()
        host_tenant = host_map().get(host)
        if host_tenant is not None:
            request.host_tenant = host_tenant  # type: ignore[attr-defined]  # idem
            path = request.path_info
            if not path.startswith(PORTAL_PREFIXES) and not path.startswith(f"/{host_tenant.slug}/"):
                # Map https://meet.uzh.ch/r/x/ onto /uzh/r/x/: one URL configuration serves both forms.
                request.path_info = f"/{host_tenant.slug}{path}"
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: dict[str, Any]
    ) -> HttpResponse | None:
        slug = kwargs.pop("tenant", None)
        if slug is None:
            if request.path_info.startswith("/admin/"):
                enter_cross_tenant()  # the operators' admin lists every tenant's rows (portal/admin.py)
            return None
        host_tenant = getattr(request, "host_tenant", None)
        tenant = Tenant.objects.filter(slug=slug, is_active=True).select_related("deployment").first()
        if tenant is None or (host_tenant is not None and host_tenant.pk != tenant.pk):
            return render(
                request,
                "tenants/unknown.html",
                {
                    "slug": slug,
                    "message": _("There is no institution called “%(slug)s” here.") % {"slug": slug},
                },
                status=404,
            )
        request.tenant = tenant  # type: ignore[attr-defined]  # idem
        enter_scope(tenant=tenant)
        return None
