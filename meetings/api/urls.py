"""The join route of the JSON API (the integrator merges it with portal/api_urls.py)."""

from __future__ import annotations

from django.urls import path

from meetings.api.join import JoinRoomView

urlpatterns = [
    path("rooms/<slug:room>/join/", JoinRoomView.as_view(), name="api_room_join"),
]
