"""Stream pages: the viewer page (and its pass), and the hosts' stream settings. Thin over services."""

from __future__ import annotations

from datetime import datetime
from typing import Any, cast
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from meetings import recurrence
from meetings.access import Verdict, decide, viewer_of
from meetings.lookups import get_room_for_host
from meetings.models import LectureSeries, Room
from meetings.streams import passes, services
from meetings.streams.access import may_view, streamable
from meetings.streams.forms import StreamSettingsForm
from meetings.streams.models import RoomStream
from tenants.access import host_required, refusal
from tenants.models import Tenant, User


def _tenant(request: HttpRequest) -> Tenant:
    return cast(Tenant, request.tenant)  # type: ignore[attr-defined]


def _no_stream(request: HttpRequest) -> HttpResponse:
    return refusal(
        request,
        title=_("No stream here"),
        message=_("This room has no live stream. Check the link you were given."),
        status=404,
    )


def _watchable(request: HttpRequest, room_name: str) -> tuple[Room, RoomStream] | HttpResponse:
    """The room and its stream when this person may watch it, else the page that says why not."""
    room = (
        Room.objects.of_tenant(_tenant(request))
        .filter(name=room_name)
        .select_related("tenant", "stream")
        .first()
    )
    stream = streamable(room) if room is not None else None
    if room is None or stream is None:
        return _no_stream(request)
    if may_view(request.user, room, stream):
        return room, stream
    if decide(viewer_of(request.user, room), room) == Verdict.SIGN_IN:
        login = f"{settings.LOGIN_URL}?{urlencode({'next': request.get_full_path()})}"
        return render(
            request,
            "refused.html",
            {
                "title": _("Sign in to watch"),
                "message": _("This stream is for members of the institution."),
                "action_url": login,
                "action_label": _("Sign in"),
            },
            status=403,
        )
    return _no_stream(request)  # as if there were no stream: nothing leaks about rooms one may not see


def _with_pass(response: HttpResponse, stream: RoomStream) -> HttpResponse:
    if stream.audience != RoomStream.Audience.PUBLIC:
        response.set_cookie(
            passes.COOKIE,
            passes.issue(stream.path, stream.pass_epoch),
            max_age=settings.STREAM_PASS_SECONDS,
            path=passes.cookie_path(stream.path),
            secure=settings.SESSION_COOKIE_SECURE,
            httponly=True,
            samesite="Lax",
        )
    return response


def next_lecture(room: Room, now: datetime) -> recurrence.Occurrence | None:
    """The lecture running now or the next one, of all the room's series."""
    found: list[recurrence.Occurrence] = []
    for series in LectureSeries.objects.filter(room=room).prefetch_related("changes"):
        found += recurrence.next_occurrences(series, after=now, limit=1, include_cancelled=False)
    return min(found, key=lambda o: o.start, default=None)


def hls_url(stream: RoomStream) -> str:
    return f"{passes.cookie_path(stream.path)}index.m3u8"


@never_cache
@require_GET
def viewer(request: HttpRequest, room: str) -> HttpResponse:
    found = _watchable(request, room)
    if isinstance(found, HttpResponse):
        return found
    the_room, stream = found
    context: dict[str, Any] = {
        "room": the_room,
        "stream": stream,
        "hls_url": hls_url(stream),
        "pass_url": reverse("streams:viewer_pass", kwargs={"tenant": the_room.tenant.slug, "room": room}),
        "ws_path": f"/ws/{the_room.tenant.slug}/rooms/{the_room.name}/live/",
        "lecture": next_lecture(the_room, timezone.now()),
    }
    return _with_pass(render(request, "streams/viewer.html", context), stream)


@never_cache
@require_GET
def viewer_pass(request: HttpRequest, room: str) -> HttpResponse:
    """A fresh viewing pass (the page asks before it plays): 204, or the refusal of the viewer page."""
    found = _watchable(request, room)
    if isinstance(found, HttpResponse):
        return found
    return _with_pass(HttpResponse(status=204), found[1])


def rtmp_url(stream: RoomStream) -> str:
    """What Jibri publishes to: the stream key to paste into Jitsi's "Start live stream" dialog."""
    return f"{settings.STREAM_RTMP_URL.rstrip('/')}/{stream.path}?{urlencode({'key': stream.secret})}"


@host_required
@require_http_methods(["GET", "POST"])
def stream_settings(request: HttpRequest, name: str) -> HttpResponse:
    room = get_room_for_host(request, name)
    user = cast(User, request.user)
    stream = RoomStream.objects.filter(room=room).first()
    here = reverse("streams:settings", kwargs={"tenant": room.tenant.slug, "name": room.name})
    if request.method == "POST" and stream is None:
        try:
            services.enable_stream(actor=user, room=room)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        return redirect(here)
    form = None
    if stream is not None:
        initial = {field: getattr(stream, field) for field in services.SETTINGS_FIELDS}
        form = StreamSettingsForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.change_stream_settings(actor=user, stream=stream, **form.cleaned_data)
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("Stream settings saved."))
                return redirect(here)
    context = {
        "room": room,
        "stream": stream,
        "form": form,
        "rtmp_url": rtmp_url(stream) if stream is not None and room.allow_livestreaming else "",
        "viewer_url": request.build_absolute_uri(
            reverse("streams:viewer", kwargs={"tenant": room.tenant.slug, "room": room.name})
        ),
    }
    return render(request, "streams/settings.html", context, status=400 if form and form.errors else 200)


@host_required
@require_POST
def rotate_key(request: HttpRequest, name: str) -> HttpResponse:
    room = get_room_for_host(request, name)
    stream = RoomStream.objects.filter(room=room).first()
    if stream is not None:
        services.rotate_stream_key(actor=cast(User, request.user), stream=stream)
        messages.success(request, _("New stream key made. The old one no longer works."))
    return redirect(reverse("streams:settings", kwargs={"tenant": room.tenant.slug, "name": room.name}))
