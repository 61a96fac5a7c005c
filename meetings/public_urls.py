"""Portal-wide meeting URLs: anonymous meetings, Jitsi's callbacks (events, keys, branding)."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []

# Prosody's event_sync component (CONTRACTS.md §2): appended by the live-counts work.
from django.urls import re_path  # noqa: E402

from meetings import event_views  # noqa: E402

urlpatterns += [
    re_path(
        r"^jitsi/(?P<deployment>[-a-z0-9]+)/events/(?P<kind>room/created|room/destroyed|occupant/joined|occupant/left)$",
        event_views.receive_event,
        name="jitsi_events",
    ),
]
