"""When a room may be entered: the join window of its lecture series (to be completed by the series work)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from meetings.models import Room


@dataclass(frozen=True)
class JoinWindow:
    is_open: bool
    opens_at: datetime | None = None  # the next opening, when closed
    closes_at: datetime | None = None  # end of the current lecture plus grace, when known


def join_window(room: Room, now: datetime) -> JoinWindow:
    """Rooms without a lecture series are always open."""
    return JoinWindow(is_open=True)
