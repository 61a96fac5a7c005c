"""Views of anonymous meetings: /new/ starts one, /new/<room>/ joins it. Both rate limited per client."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from meetings import anonymous, ratelimit
from meetings.join_views import SESSION_GUEST_NAME, not_found, respond
from meetings.joining import DISPLAY_NAME_MAX, clean_display_name
from meetings.models import Room
from portal.adapters.django_scopes import enter_scope
from tenants.access import refusal

SESSION_CREATED = "anonymous_rooms"  # names of the anonymous rooms this browser created (it moderates them)


def _unavailable(request: HttpRequest) -> HttpResponse:
    return refusal(
        request,
        title=_("Not available"),
        message=_("Meetings without an account are not offered here."),
        status=404,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def new_meeting(request: HttpRequest) -> HttpResponse:
    tenant = anonymous.anonymous_tenant()
    if tenant is not None:
        enter_scope(tenant=tenant)  # anonymous meetings live in the one configured tenant
    if tenant is None:
        return _unavailable(request)
    error = ""
    name = request.session.get(SESSION_GUEST_NAME, "")
    if request.method == "POST":
        name = clean_display_name(request.POST.get("display_name"))
        if not name:
            error = _("Enter the name the others will see (at most %(max)d characters).") % {
                "max": DISPLAY_NAME_MAX
            }
        else:
            limited = ratelimit.limited(request, "anonymous-create", settings.RATE_LIMIT_ANONYMOUS_CREATE)
            if limited is not None:
                return limited
            room = anonymous.create_anonymous_room(tenant=tenant, now=timezone.now())
            request.session[SESSION_CREATED] = [*request.session.get(SESSION_CREATED, []), room.name][-20:]
            request.session[SESSION_GUEST_NAME] = name
            return redirect("anonymous_join", room=room.name)
    return render(
        request,
        "meetings/new.html",
        {
            "error": error,
            "display_name": name,
            "max_name": DISPLAY_NAME_MAX,
            "idle_hours": settings.ANONYMOUS_ROOM_IDLE_HOURS,
        },
        status=400 if error else 200,
    )


@never_cache
@require_http_methods(["GET", "POST"])
def anonymous_join(request: HttpRequest, room: str) -> HttpResponse:
    limited = ratelimit.limited(request, "anonymous-join", settings.RATE_LIMIT_ANONYMOUS_JOIN)
    if limited is not None:
        return limited
    tenant = anonymous.anonymous_tenant()
    if tenant is not None:
        enter_scope(tenant=tenant)  # anonymous meetings live in the one configured tenant
    if tenant is None:
        return _unavailable(request)
    found = Room.objects.of_tenant(tenant).active().filter(name=room, is_anonymous=True).first()
    if found is None:
        return not_found(request)
    now = timezone.now()
    if anonymous.is_expired(found, now):
        return refusal(
            request,
            title=_("This meeting has ended"),
            message=_("Nobody used this meeting for a long time, so it was closed. Start a new one."),
            status=410,
        )
    found.tenant = tenant
    moderator = found.name in request.session.get(SESSION_CREATED, [])
    share_url = request.build_absolute_uri(reverse("anonymous_join", kwargs={"room": found.name}))
    return respond(request, found, moderator=moderator, extra={"share_url": share_url, "anonymous": True})
