"""Portal-wide pages and the tenant home."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from typing import Any

import redis
from django.conf import settings
from django.contrib.auth import logout
from django.db import DatabaseError, connection
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST, require_safe
from django.views.static import serve
from redis.exceptions import RedisError

from portal.errors import RETRY_AFTER_SECONDS
from tenants.access import membership_of
from tenants.branding import MEDIA_TYPES
from tenants.models import Tenant
from tenants.requests import TenantRequest


def landing(request: HttpRequest) -> HttpResponse:
    host_tenant = getattr(request, "host_tenant", None)
    if host_tenant is not None:
        return redirect("tenant_home", tenant=host_tenant.slug)
    tenants = Tenant.objects.filter(is_active=True).only("slug", "name")
    memberships = (
        request.user.memberships.select_related("tenant").filter(is_blocked=False)
        if request.user.is_authenticated
        else []
    )
    # Meetings without an account (/new/) are offered when an institution is set up for them.
    offers_new = (
        bool(settings.ANONYMOUS_TENANT)
        and Tenant.objects.filter(
            slug=settings.ANONYMOUS_TENANT, is_active=True, deployment__isnull=False
        ).exists()
    )
    context = {"tenants": tenants, "memberships": memberships, "offers_new": offers_new}
    return render(request, "landing.html", context)


def healthz(request: HttpRequest) -> JsonResponse:
    """Liveness: the process answers. Nothing else is asked (no PostgreSQL, no Redis), so that a supervisor
    restarts only a process that is stuck, never every process because a shared service is away; a load
    balancer asks /readyz."""
    return JsonResponse({"status": "ok"})


READY_REDIS_TIMEOUT = 0.5  # seconds: a load balancer's probe must not hang on a frozen Redis


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Readiness for a load balancer: 200 only when PostgreSQL and (when configured) Redis answer, else 503
    naming what is down, so traffic moves to a portal that can serve joins."""
    down = []
    try:
        # A PostgreSQL known to be away is refused at once (portal/database/); one that just went away
        # costs at most DB_POOL_TIMEOUT.
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except DatabaseError:
        down.append("postgresql")
    if settings.REDIS_URL:
        # Its own short-lived client with short timeouts, not the cache's pool (whose timeouts suit requests).
        client = redis.Redis.from_url(
            settings.REDIS_URL,
            socket_connect_timeout=READY_REDIS_TIMEOUT,
            socket_timeout=READY_REDIS_TIMEOUT,
        )
        try:
            client.ping()
        except RedisError:
            down.append("redis")
        finally:
            client.close()
    if down:
        return JsonResponse(
            {"status": "unavailable", "down": down},
            status=503,
            headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
        )
    return JsonResponse({"status": "ok"})


@require_safe
def media(request: HttpRequest, path: str) -> HttpResponseBase:
    """Uploaded branding files, when no reverse proxy serves MEDIA_ROOT (SERVE_MEDIA=1).

    Only images of an accepted type are answered, with that type and `nosniff`, so that no browser runs
    a file as a page; anything else (e.g. an .html stored by older code) is a 404."""
    extension = PurePosixPath(path).suffix.lower()
    content_type = SERVED_MEDIA_TYPES.get(extension)
    if content_type is None:
        raise Http404("not an image")
    root = Path(settings.MEDIA_ROOT).resolve()
    try:
        full = (root / path).resolve()
        if not full.is_relative_to(root):
            raise Http404("outside the media directory")
        with full.open("rb") as file:
            head = file.read(12)
    except (OSError, ValueError) as exc:  # missing, a directory, a NUL byte
        raise Http404("no such file") from exc
    if not _looks_like(extension, head):
        raise Http404("not an image")
    response = serve(request, path, document_root=str(settings.MEDIA_ROOT))
    response["Content-Type"] = content_type
    response["X-Content-Type-Options"] = "nosniff"
    # Names are random per upload and never reused (a change gets a new name): cache them for good.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


# Older uploads kept the client's extension, so .jpeg is read too; new ones are .png, .jpg or .webp.
SERVED_MEDIA_TYPES = {**MEDIA_TYPES, ".jpeg": "image/jpeg"}


def _looks_like(extension: str, head: bytes) -> bool:
    if extension == ".png":
        return head.startswith(b"\x89PNG\r\n\x1a\n")
    if extension == ".webp":
        return head[:4] == b"RIFF" and head[8:12] == b"WEBP"
    return head.startswith(b"\xff\xd8\xff")


@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    """Local sign-out; always works, whatever the IdP does."""
    logout(request)
    return redirect("landing")


def tenant_home(request: TenantRequest) -> HttpResponse:
    tenant = request.tenant
    membership = membership_of(request.user, tenant)
    context: dict[str, Any] = {"membership": membership}
    if membership is not None:
        # The member's dashboard (lectures of the week, the lecturer's rooms) comes from the meetings app.
        from meetings import dashboard

        context.update(dashboard.home(tenant, request.user, membership, timezone.now()))  # type: ignore[arg-type]
    return render(request, "tenants/home.html", context)
