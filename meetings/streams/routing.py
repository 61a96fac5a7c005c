"""Websocket route of the viewer page."""

from __future__ import annotations

from typing import Any

from django.urls import path

from meetings.streams import consumers

websocket_urlpatterns: list[Any] = [
    path("ws/<slug:tenant>/rooms/<str:room>/live/", consumers.StreamViewerConsumer.as_asgi()),
]
