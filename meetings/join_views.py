"""The join page /<tenant>/r/<room>/ and the meeting page that embeds Jitsi; the ASAP public-key endpoint.

Flow: GET decides at once for signed-in people (meeting page, or a refusal that says what to do); guests and
rooms with an access code get a form, whose POST stores the name (and that the code was right) in the session
and redirects back, so a reload never re-posts. Too many wrong codes (meetings/ratelimit.py): the form again,
answered 429 with Retry-After and a message that says when to try again.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods
from django_scopes import scope

from meetings import joincache, ratelimit
from meetings.access import requires_access_code, viewer_of
from meetings.jitsi import meeting_url_with_token
from meetings.joining import JoinTicket, Reason, Refusal, join_room
from meetings.models import LectureSeries, Room
from meetings.recordings import consent
from meetings.recurrence import Occurrence, next_occurrences
from tenants.access import refusal
from tenants.keys import public_pem_by_digest
from tenants.models import JitsiDeployment

SESSION_GUEST_ID = "join_guest_id"
SESSION_GUEST_NAME = "join_guest_name"
SESSION_CODES = "join_codes_ok"  # ids of rooms whose access code this session entered correctly
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def not_found(request: HttpRequest) -> HttpResponse:
    return refusal(
        request,
        title=_("No such room"),
        message=_("There is no room at this address. Check the link you were given."),
        status=404,
    )


def _guest_id(request: HttpRequest) -> str:
    """This browser's opaque guest id (kept in the session once the guest has joined)."""
    return str(request.session.get(SESSION_GUEST_ID) or uuid.uuid4())


def _code_ok(request: HttpRequest, room: Room) -> bool:
    return room.pk in request.session.get(SESSION_CODES, [])


def meeting_page(
    request: HttpRequest, ticket: JoinTicket, extra: dict[str, Any] | None = None
) -> HttpResponse:
    options: dict[str, Any] = {
        "domain": ticket.iframe_domain,
        "roomName": ticket.iframe_room,
        "jwt": ticket.jwt,
        "lang": get_language() or "en",
        "userInfo": {"displayName": ticket.participant.name},
    }
    if ticket.participant.email:
        options["userInfo"]["email"] = ticket.participant.email
    base_url = ticket.room.tenant.deployment.base_url.rstrip("/")
    tenant = ticket.room.tenant
    # Hanging up lands on the institution's page (anonymous meetings: the portal's front page).
    leave_url = (
        reverse("landing")
        if ticket.room.is_anonymous
        else reverse("tenant_home", kwargs={"tenant": tenant.slug})
    )
    return render(
        request,
        "meetings/meeting.html",
        {
            "room": ticket.room,
            "options": options,
            "external_api_url": f"{base_url}/external_api.js",
            "jitsi_url": meeting_url_with_token(ticket.jitsi_url, ticket.jwt),
            "leave_url": leave_url,
            "is_moderator": ticket.participant.moderator,
            "expires_at": ticket.expires_at,
            **(extra or {}),
        },
    )


def respond(
    request: HttpRequest,
    room: Room,
    *,
    moderator: bool = False,
    form_action: str | None = None,
    extra: dict[str, Any] | None = None,
) -> HttpResponse:
    """Run the join decision for this request and answer with the meeting, a form, or a refusal."""
    if consent.missing(request, room, moderator=moderator):
        return consent.ask(request, room, form_action or request.get_full_path(), extra)
    now = timezone.now()
    user = request.user
    posted = request.method == "POST"
    display_name = request.POST.get("display_name") if posted else request.session.get(SESSION_GUEST_NAME)
    access_code = request.POST.get("access_code") if posted else None
    anonymous = not user.is_authenticated
    result = join_room(
        room=room,
        user=user,
        now=now,
        display_name=display_name,
        access_code=access_code,
        code_verified=_code_ok(request, room),
        client=ratelimit.client_address(request),
        guest_id=_guest_id(request) if anonymous else None,
        moderator=moderator,
    )
    if isinstance(result, JoinTicket):
        if anonymous and SESSION_GUEST_ID not in request.session:
            # Stored only now, so that refused visitors and crawlers leave no session behind.
            request.session[SESSION_GUEST_ID] = result.participant.id
        if posted:
            if anonymous:
                request.session[SESSION_GUEST_NAME] = result.participant.name
            if access_code and requires_access_code(room):
                request.session[SESSION_CODES] = [*request.session.get(SESSION_CODES, []), room.pk][-50:]
            return redirect(request.get_full_path())
        return meeting_page(request, result, extra)
    return _refused(request, room, result, moderator=moderator, form_action=form_action, extra=extra)


def _refused(
    request: HttpRequest,
    room: Room,
    result: Refusal,
    *,
    moderator: bool,
    form_action: str | None,
    extra: dict[str, Any] | None,
) -> HttpResponse:
    if result.reason == Reason.NOT_FOUND:
        return not_found(request)
    if result.reason == Reason.SIGN_IN:
        login = f"{settings.LOGIN_URL}?{urlencode({'next': request.get_full_path()})}"
        return render(
            request,
            "refused.html",
            {
                "title": result.title,
                "message": result.message,
                "action_url": login,
                "action_label": _("Sign in"),
            },
            status=result.status,
        )
    if result.reason == Reason.NOT_INVITED:
        return refusal(request, title=result.title, message=result.message, status=result.status)
    if result.reason == Reason.NOT_OPEN:
        return render(
            request,
            "meetings/join_closed.html",
            {
                "room": room,
                "title": result.title,
                "message": result.message,
                "opens_at": result.opens_at,
                "lecture": _next_lecture(room, timezone.now()),
            },
            status=200,
        )
    viewer = viewer_of(request.user, room)
    needs_code = (
        requires_access_code(room) and not viewer.is_host and not moderator and not _code_ok(request, room)
    )
    # A first visit gets the form (200); a posted form that was not good enough says why.
    error = result.message if request.method == "POST" else ""
    status = result.status if request.method == "POST" else 200
    response = render(
        request,
        "meetings/join.html",
        {
            "room": room,
            "needs_name": not request.user.is_authenticated,
            "needs_code": needs_code,
            "error": error,
            "reason": result.reason.value,
            "display_name": request.POST.get("display_name", "")
            or request.session.get(SESSION_GUEST_NAME, ""),
            "form_action": form_action or request.get_full_path(),
            **(extra or {}),
        },
        status=status,
    )
    if result.retry_after is not None:
        response["Retry-After"] = str(result.retry_after)
    return response


def _next_lecture(room: Room, now: datetime) -> Occurrence | None:
    """The lecture the closed page waits for: named with its start, not only the room's opening."""
    found = [
        o
        for s in LectureSeries.objects.filter(room=room).prefetch_related("changes")
        for o in next_occurrences(s, after=now, limit=1, include_cancelled=False)
    ]
    return min(found, key=lambda o: o.start) if found else None


@never_cache
@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, room: str) -> HttpResponse:
    tenant = request.tenant  # type: ignore[attr-defined]  # set from the URL by TenantMiddleware (tenants/requests.py)
    found = joincache.room_named(tenant.pk, room, request.user)
    if found is None:
        return not_found(request)
    return respond(request, found)


@require_GET
def asap_public_key(request: HttpRequest, deployment: str, digest: str) -> HttpResponse:
    """Prosody's asap_key_server: the public key whose kid hashes (sha256, hex) to `digest`."""
    if not _DIGEST.match(digest):
        raise Http404("no such key")
    dep = get_object_or_404(JitsiDeployment.objects.select_related("tenant"), slug=deployment)
    with scope(tenant=dep.tenant_id):  # the deployment (found by its slug) names its tenant
        pem = public_pem_by_digest(dep.tenant, digest)
    if pem is None:
        raise Http404("no such key")
    response = HttpResponse(pem, content_type="application/x-pem-file")
    # Short: a retired key must disappear from caches soon after its grace period.
    response["Cache-Control"] = "public, max-age=300"
    return response


def bench_bare(request: HttpRequest) -> HttpResponse:
    """The benchmark's baseline: the full middleware stack, no database (only with BENCH_VIEWS)."""
    if not settings.BENCH_VIEWS:
        raise Http404
    return JsonResponse({"ok": True})
