"""Portal-wide meeting URLs: anonymous meetings, Jitsi's callbacks (events, keys, branding)."""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path

from meetings import anonymous_views, event_views, join_views

urlpatterns: list[Any] = [
    path("new/", anonymous_views.new_meeting, name="anonymous_new"),
    path("new/<slug:room>/", anonymous_views.anonymous_join, name="anonymous_join"),
    path(
        "jitsi/<slug:deployment>/asap/<str:digest>.pem",
        join_views.asap_public_key,
        name="jitsi_asap_key",
    ),
    # Prosody's event_sync component (CONTRACTS.md §2).
    re_path(
        r"^jitsi/(?P<deployment>[-a-z0-9]+)/events/"
        r"(?P<kind>room/created|room/destroyed|occupant/joined|occupant/left)$",
        event_views.receive_event,
        name="jitsi_events",
    ),
    path("bench/bare", join_views.bench_bare, name="bench_bare"),
]
