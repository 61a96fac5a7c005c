"""Portal-wide pages and the tenant home."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import logout
from django.db import connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from django.views.static import serve

from tenants.access import membership_of
from tenants.models import Tenant


def landing(request: HttpRequest) -> HttpResponse:
    host_tenant = getattr(request, "host_tenant", None)
    if host_tenant is not None:
        return redirect("tenant_home", tenant=host_tenant.slug)
    tenants = Tenant.objects.filter(is_active=True).only("slug", "name")
    memberships = (
        request.user.memberships.select_related("tenant").filter(is_blocked=False)  # type: ignore[union-attr]
        if request.user.is_authenticated
        else []
    )
    return render(request, "landing.html", {"tenants": tenants, "memberships": memberships})


def healthz(request: HttpRequest) -> JsonResponse:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"status": "ok"})


def media(request: HttpRequest, path: str) -> HttpResponseBase:
    """Uploaded branding files, when no reverse proxy serves MEDIA_ROOT (SERVE_MEDIA=1)."""
    try:
        return serve(request, path, document_root=str(settings.MEDIA_ROOT))
    except OSError as error:  # e.g. a name longer than the file system allows: no such file either
        raise Http404(path) from error


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Local sign-out; always works, whatever the IdP does."""
    logout(request)
    return redirect("landing")


def tenant_home(request: HttpRequest) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]
    membership = membership_of(request.user, tenant)
    return render(request, "tenants/home.html", {"membership": membership})
