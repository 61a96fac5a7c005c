"""Resolve the tenant of a request: by its own host name, else by the /<tenant>/ path prefix."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

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
_host_map_cache: tuple[float, dict[str, Tenant]] = (0.0, {})


def host_map() -> dict[str, Tenant]:
    """Host name -> its active tenant, refreshed every 30 s so that requests cost no query for it (a join on
    a tenant's own host name included). A tenant switched off meanwhile keeps its host for those seconds,
    but no page or room of it is found: they are looked up as active."""
    global _host_map_cache
    loaded_at, mapping = _host_map_cache
    now = time.monotonic()
    if now - loaded_at > _HOST_MAP_TTL:
        mapping = {
            h.host: h.tenant
            for h in TenantHost.objects.filter(tenant__is_active=True).select_related("tenant")
        }
        _host_map_cache = (now, mapping)
    return mapping


def forget_hosts() -> None:
    """Called when host names change, so this process sees them at once."""
    global _host_map_cache
    _host_map_cache = (0.0, {})


class TenantMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.tenant = None  # type: ignore[attr-defined]
        host = request.get_host().split(":")[0].lower()
        host_tenant = host_map().get(host)
        if host_tenant is not None:
            request.host_tenant = host_tenant  # type: ignore[attr-defined]
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
        request.tenant = tenant  # type: ignore[attr-defined]
        return None
