"""The recording notice on joining: where the tenant asks for it, participants confirm before they enter a
room that may be recorded (once per room and browser session; hosts, who start recordings, are not asked)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from meetings.access import viewer_of
from meetings.models import Room

SESSION_KEY = "recording_consent"


def may_be_recorded(room: Room) -> bool:
    return bool(room.allow_recording and room.tenant.recordings_enabled)


def missing(request: HttpRequest, room: Room, *, moderator: bool = False) -> bool:
    """True when this person must still confirm; a posted confirmation is remembered here."""
    if not (may_be_recorded(room) and room.tenant.recording_consent_required) or moderator:
        return False
    confirmed = request.session.get(SESSION_KEY, [])
    if room.pk in confirmed:
        return False
    if request.method == "POST" and request.POST.get("recording_consent") == "1":
        request.session[SESSION_KEY] = [*confirmed, room.pk][-50:]
        return False
    return not viewer_of(request.user, room).is_host


def ask(request: HttpRequest, room: Room, form_action: str, extra: dict[str, Any] | None) -> HttpResponse:
    context = {
        "room": room,
        "needs_name": not request.user.is_authenticated,
        "needs_code": False,
        "display_name": request.POST.get("display_name", ""),
        "form_action": form_action,
        **(extra or {}),
    }
    return render(request, "meetings/join.html", context)
