"""ASGI entry point: HTTP through Django, websockets through Channels consumers (served by Daphne)."""

from __future__ import annotations

import os
from collections.abc import Awaitable
from typing import Any

from asgiref.sync import markcoroutinefunction

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from portal.routing import websocket  # noqa: E402


async def _unsupported(kind: str) -> None:
    raise ValueError(f"No application configured for scope type {kind!r}")


def application(scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
    """Channels' ProtocolTypeRouter's choice, returning the chosen application's coroutine instead of awaiting
    it, so no router frame stays suspended above every open websocket.

    No cookie/session/auth middleware for websockets: every websocket route (the live counts) resolves the
    user from the session cookie in connect() (meetings.consumers.user_of). A route that needs scope["user"]
    wraps itself in channels.auth.AuthMiddlewareStack."""
    kind = scope["type"]
    if kind == "http":
        return django_asgi_app(scope, receive, send)
    if kind == "websocket":
        return websocket(scope, receive, send)
    return _unsupported(kind)


# A plain function returning a coroutine is an ASGI 3 (single-callable) application; marked so, asgiref's
# guarantee_single_callable (Daphne, the test communicators) does not take it for ASGI 2.
application = markcoroutinefunction(application)
