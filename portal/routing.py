"""Websocket routes of every app, in one list for portal.asgi."""

from __future__ import annotations

from meetings.routing import websocket_urlpatterns as meetings_ws

websocket_urlpatterns = [*meetings_ws]
