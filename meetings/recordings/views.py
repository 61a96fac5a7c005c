"""Recording pages of a tenant: a room's recordings, the player, changes by hosts, and the signed media view.

Thin: look the recording up by (tenant, code), check access (meetings/recordings/access.py: 404 for those who
may not know it exists), call a service, answer."""

from __future__ import annotations

from datetime import date
from typing import cast

from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from meetings.models import Room
from meetings.recordings import access, playback, ranges, services, storage
from meetings.recordings.forms import RecordingSettingsForm
from meetings.recordings.models import Recording
from tenants import services as tenant_services
from tenants.access import admin_required
from tenants.models import User


def _recording(request: HttpRequest, code: str) -> Recording:
    found = (
        Recording.objects.filter(tenant=request.tenant, code=code)  # type: ignore[attr-defined]
        .select_related("tenant", "room", "series")
        .first()
    )
    if found is None:
        raise Http404(_("No such recording."))
    return found


def _managed(request: HttpRequest, code: str) -> Recording:
    recording = _recording(request, code)
    if not access.may_manage(request.user, recording):
        raise Http404(_("No such recording."))
    return recording


@require_http_methods(["GET", "HEAD"])
def room_recordings(request: HttpRequest, name: str) -> HttpResponse:
    room = Room.objects.filter(tenant=request.tenant, name=name, archived=False).first()  # type: ignore[attr-defined]
    if room is None:
        raise Http404(_("No such room."))
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    is_host = access.is_host(request.user, room)
    if not is_host and not access.is_member(request.user, room.tenant):
        raise Http404(_("No such room."))
    recordings = list(access.listed_for(request.user, room))
    return render(
        request,
        "recordings/room_recordings.html",
        {"room": room, "recordings": recordings, "is_host": is_host},
    )


@require_http_methods(["GET", "HEAD"])
def player(request: HttpRequest, code: str) -> HttpResponseBase:
    recording = _recording(request, code)
    if not access.may_watch(request.user, recording):
        if access.needs_sign_in(request.user, recording):
            return redirect_to_login(request.get_full_path())
        raise Http404(_("No such recording."))
    manage = access.may_manage(request.user, recording)
    if storage.is_s3():
        from portal import csp

        csp.allow(request, "media-src", playback.url(recording, "video"))
        csp.allow(request, "img-src", playback.url(recording, "video"))
    context = {
        "recording": recording,
        "room": recording.room,
        "video_url": playback.url(recording, "video") if recording.file else "",
        "poster_url": playback.url(recording, "poster") if recording.poster else "",
        "download_url": playback.url(recording, "video", download=True) if manage and recording.file else "",
        "manage": manage,
        "lecture_number": services.lecture_number(recording),
        "series_recordings": _series_recordings(request, recording),
        "visibilities": Recording.Visibility.choices,
        "latest_keep_until": services.latest_keep_until(recording),
    }
    return render(request, "recordings/player.html", context)


def _series_recordings(request: HttpRequest, recording: Recording) -> list[tuple[Recording, int | None]]:
    """The other lectures of the recording's series this person may watch, in lecture order (chapters)."""
    if recording.series is None:
        return []
    found = (
        Recording.objects.filter(tenant=recording.tenant, series=recording.series)
        .exclude(pk=recording.pk)
        .select_related("tenant", "room", "series")
        .order_by("lecture_start", "pk")[:100]
    )
    return [(r, services.lecture_number(r)) for r in found if access.may_watch(request.user, r)]


@admin_required
@require_http_methods(["GET", "POST"])
def recording_settings(request: HttpRequest) -> HttpResponse:
    """The institution's recording settings (its administrators); the quota is the operator's."""
    tenant = request.tenant  # type: ignore[attr-defined]
    initial = {name: getattr(tenant, name) for name in RecordingSettingsForm.base_fields}
    form = RecordingSettingsForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        tenant_services.change_tenant(actor=cast(User, request.user), tenant=tenant, **form.cleaned_data)
        messages.success(request, _("Saved."))
        return redirect("recordings:settings", tenant=tenant.slug)
    return render(request, "recordings/settings.html", {"form": form, "quota_gb": tenant.recording_quota_gb})


@require_POST
def change(request: HttpRequest, code: str) -> HttpResponse:
    """Rename, publish/unpublish (visibility) or keep until: whichever the form sends."""
    recording = _managed(request, code)
    user = cast(User, request.user)  # _managed: a host of the room, so signed in
    try:
        if "title" in request.POST:
            services.rename_recording(actor=user, recording=recording, title=request.POST["title"])
        if "visibility" in request.POST:
            visibility = request.POST["visibility"]
            services.change_visibility(actor=user, recording=recording, visibility=visibility)
        if "keep_until" in request.POST:
            value = request.POST["keep_until"].strip()
            services.set_keep_until(
                actor=user, recording=recording, keep_until=date.fromisoformat(value) if value else None
            )
    except ValueError as exc:
        messages.error(request, str(exc) if str(exc) and "isoformat" not in str(exc) else _("Enter a date."))
    else:
        messages.success(request, _("Saved."))
    return redirect("recordings:player", tenant=recording.tenant.slug, code=recording.code)


@require_http_methods(["GET", "POST"])
def delete(request: HttpRequest, code: str) -> HttpResponse:
    recording = _managed(request, code)
    if request.method == "POST":
        room = recording.room
        services.delete_recording(actor=cast(User, request.user), recording=recording)
        messages.success(request, _("The recording was deleted."))
        return redirect("recordings:room_recordings", tenant=room.tenant.slug, name=room.name)
    return render(request, "recordings/delete.html", {"recording": recording, "room": recording.room})


def _media(request: HttpRequest, code: str, kind: str) -> HttpResponseBase:
    if request.method not in ("GET", "HEAD"):
        return HttpResponse(status=405, headers={"Allow": "GET, HEAD"})
    recording = _recording(request, code)
    download = playback.check(recording, kind, request.GET)
    name = recording.file if kind == "video" else recording.poster
    if download is None or not name:
        return render(
            request,
            "refused.html",
            {
                "title": _("This link has expired"),
                "message": _("Open the recording's page again for a fresh link."),
            },
            status=403,
        )
    disposition = f'attachment; filename="{playback.download_name(recording)}"' if download else "inline"
    return ranges.serve(request, storage.recording_storage(), name, playback.KINDS[kind], disposition)


def video(request: HttpRequest, code: str) -> HttpResponseBase:
    return _media(request, code, "video")


def poster(request: HttpRequest, code: str) -> HttpResponseBase:
    return _media(request, code, "poster")
