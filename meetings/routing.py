"""Websocket routes of the meetings app."""

from __future__ import annotations

from typing import Any

from django.urls import path

from meetings import consumers

websocket_urlpatterns: list[Any] = [
    path("ws/<slug:tenant>/rooms/<str:room>/", consumers.RoomCountConsumer.as_asgi()),
    path("ws/<slug:tenant>/dashboard/", consumers.DashboardConsumer.as_asgi()),
]
