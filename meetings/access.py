"""Who may join or host a room (to be completed by the rooms work)."""

from __future__ import annotations

from typing import Any

from meetings.models import Room
from tenants.access import membership_of


def is_host(user: Any, room: Room) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return room.owner_id == user.pk or room.co_hosts.filter(pk=user.pk).exists()


def may_watch(user: Any, room: Room) -> bool:
    """May this user see the live count of the room? Those who may join it."""
    if room.access == Room.Access.LINK:
        return True
    return membership_of(user, room.tenant) is not None
