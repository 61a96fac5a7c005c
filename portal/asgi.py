"""ASGI entry point: HTTP through Django, websockets through Channels consumers (served by Daphne)."""

from __future__ import annotations

import os
from collections.abc import Awaitable
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from portal.routing import websocket  # noqa: E402


async def _unsupported(kind: str) -> None:
    raise ValueError(f"No application configured for scope type {kind!r}")


class Application:
    """Picks each connection's handler before it runs and returns that handler's coroutine, so a websocket
    is served by its consumer's coroutine alone (portal.routing) rather than by channels' router and
    middleware coroutines awaiting each other for the socket's lifetime.

    No cookie/session/auth middleware for websockets either: every websocket route (the live counts)
    resolves the user from the session cookie in connect() (meetings.consumers.user_of). A route that needs
    scope["user"] wraps itself in channels.auth.AuthMiddlewareStack."""

    # A plain __call__ that returns a coroutine is still a single-callable (ASGI 3) application; without the
    # marker asgiref's guarantee_single_callable (Daphne, the test communicators) would take it for ASGI 2.
    _asgi_single_callable = True

    def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
        kind = scope["type"]
        if kind == "http":
            return django_asgi_app(scope, receive, send)
        if kind == "websocket":
            return websocket(scope, receive, send)
        return _unsupported(kind)


application = Application()
