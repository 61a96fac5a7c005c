"""Recording pages of one tenant (included under /<tenant>/ by tenants/urls.py)."""

from __future__ import annotations

from django.urls import path

import portal.converters  # noqa: F401 - registers the path converters used below
from meetings.recordings import views

app_name = "recordings"

urlpatterns = [
    path("manage/recordings/", views.recording_settings, name="settings"),
    path("rooms/<room:name>/recordings/", views.room_recordings, name="room_recordings"),
    path("recordings/<recording:code>/", views.player, name="player"),
    path("recordings/<recording:code>/change/", views.change, name="change"),
    path("recordings/<recording:code>/delete/", views.delete, name="delete"),
    path("recordings/<recording:code>/video.mp4", views.video, name="video"),
    path("recordings/<recording:code>/poster.jpg", views.poster, name="poster"),
]
