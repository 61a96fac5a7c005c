"""Websocket routes of every app, and the application portal.asgi hands websocket connections to.

Channels' own stack: AllowedHostsOriginValidator (the Origin against ALLOWED_HOSTS) around URLRouter, whose
last route refuses every path no other route matches (403 at the handshake rather than URLRouter's
ValueError, which Daphne would log as a server error).
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any
from urllib.parse import urlparse

from channels.routing import URLRouter
from channels.security.websocket import AllowedHostsOriginValidator, WebsocketDenier
from django.urls import re_path

from meetings.routing import websocket_urlpatterns as meetings_ws
from meetings.streams.routing import websocket_urlpatterns as streams_ws

websocket_urlpatterns = [*streams_ws, *meetings_ws]

router = URLRouter([*websocket_urlpatterns, re_path(r"", WebsocketDenier.as_asgi())])


def _malformed_origin(scope: dict[str, Any]) -> bool:
    """An Origin that urlparse rejects ("http://[x"): OriginValidator only expects a decoding error there."""
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            try:
                urlparse(value.decode("latin1"))
            except ValueError:
                return True
    return False


def websocket(scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
    """The application of one websocket connection. The validator is made per connection, so it reads
    ALLOWED_HOSTS (and DEBUG) as they are now, as the HTTP side does."""
    if _malformed_origin(scope):
        return WebsocketDenier()(scope, receive, send)
    return AllowedHostsOriginValidator(router)(scope, receive, send)
