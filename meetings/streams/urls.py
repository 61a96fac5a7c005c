"""Stream pages of a tenant (mounted under /<tenant>/)."""

from __future__ import annotations

from django.urls import path

import portal.converters  # noqa: F401 - registers the path converters used below
from meetings.streams import views

app_name = "streams"

urlpatterns = [
    path("r/<room:room>/live/", views.viewer, name="viewer"),
    path("r/<room:room>/live/pass/", views.viewer_pass, name="viewer_pass"),
    path("rooms/<room:name>/stream/", views.stream_settings, name="settings"),
    path("rooms/<room:name>/stream/rotate/", views.rotate_key, name="rotate"),
]
