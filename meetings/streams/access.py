"""Who may watch a room's stream: the stream's audience, and for "members" the room's own join rules."""

from __future__ import annotations

from typing import Any

from meetings.access import may_watch
from meetings.models import Room
from meetings.streams.models import RoomStream


def streamable(room: Room) -> RoomStream | None:
    """The room's stream when it can be watched at all (room active and allowing streaming)."""
    if room.archived or not room.allow_livestreaming:
        return None
    try:
        return room.stream
    except RoomStream.DoesNotExist:
        return None


def may_view(user: Any, room: Room, stream: RoomStream) -> bool:
    if stream.audience in (RoomStream.Audience.LINK, RoomStream.Audience.PUBLIC):
        return True
    return may_watch(user, room)
