"""Small includes for pages other helpers own: the meeting page's stream button and the join page's offer."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from meetings.live import shown_count
from meetings.models import Room
from meetings.streams.access import streamable
from meetings.streams.models import RoomStream
from meetings.streams.views import rtmp_url

register = template.Library()


def _stream(room: Room) -> RoomStream | None:
    if room.is_anonymous:
        return None
    return streamable(room) if room.allow_livestreaming else None


def offered(room: Room, stream: RoomStream) -> bool:
    """The lecturer chose streaming, or the meeting has reached the number they set."""
    if stream.offer_instead:
        return True
    limit = stream.offer_when_count
    return limit is not None and shown_count(room).count >= limit


def _viewer_url(room: Room) -> str:
    return reverse("streams:viewer", kwargs={"tenant": room.tenant.slug, "room": room.name})


@register.inclusion_tag("streams/_meeting_controls.html")
def stream_controls(room: Room, is_host: bool) -> dict[str, Any]:
    """For hosts: one click starts the stream from the meeting (IFrame API). For others: the offer."""
    stream = _stream(room)
    if stream is None:
        return {"show": False}
    if is_host:
        return {
            "show": True,
            "is_host": True,
            "stream_key": rtmp_url(stream),
            "viewer_url": _viewer_url(room),
        }
    return {"show": offered(room, stream), "is_host": False, "viewer_url": _viewer_url(room)}


@register.inclusion_tag("streams/_watch_offer.html")
def watch_offer(room: Room) -> dict[str, Any]:
    """On the join page: "watch the stream" beside "join the meeting" when the stream is offered."""
    stream = _stream(room)
    show = stream is not None and offered(room, stream)
    return {"show": show, "viewer_url": _viewer_url(room) if show else ""}
