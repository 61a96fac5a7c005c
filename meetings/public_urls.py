"""Portal-wide meeting URLs: anonymous meetings, Jitsi's callbacks (events, keys, branding)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from meetings import anonymous_views, join_views

urlpatterns: list[Any] = [
    path("new/", anonymous_views.new_meeting, name="anonymous_new"),
    path("new/<slug:room>/", anonymous_views.anonymous_join, name="anonymous_join"),
    path(
        "jitsi/<slug:deployment>/asap/<str:digest>.pem",
        join_views.asap_public_key,
        name="jitsi_asap_key",
    ),
    path("bench/bare", join_views.bench_bare, name="bench_bare"),
]
