"""Builders shared by the room, series and feed tests (through services, as the pages do)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from meetings import services
from meetings.models import LectureSeries, Room
from tenants.models import User


def make_room(owner: User, tenant: Any, **kwargs: Any) -> Room:
    kwargs.setdefault("title", "Introduction to Law")
    return services.create_room(actor=owner, tenant=tenant, **kwargs)


def make_series(room: Room, **kwargs: Any) -> LectureSeries:
    fields: dict[str, Any] = {
        "title": "Introduction to Law",
        "first_date": date(2026, 3, 2),  # a Monday, four weeks before the March clock change
        "start_time": time(10, 15),
        "duration_minutes": 90,
        "interval_weeks": 1,
        "weekdays": [0],
        "until": None,
        "count": 12,
        "time_zone": "Europe/Zurich",
        "join_opens_minutes": 15,
        "grace_minutes": 15,
    }
    fields.update(kwargs)
    assert room.owner is not None
    return services.schedule_series(actor=room.owner, room=room, **fields)
