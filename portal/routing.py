"""Websocket routes of every app, and the router portal.asgi hands websocket connections to.

The router decides before anything runs and returns the chosen consumer's own coroutine. channels'
OriginValidator, URLRouter and `as_asgi()` are coroutines that each await the next one, so every open
websocket held their suspended frames, a copy of its scope and the parsed Origin for as long as it stayed
open (with ProtocolTypeRouter about 2 KiB per idle viewer, bench/fanout.py --memory-only). The checks are
channels' own: the Origin against ALLOWED_HOSTS (as AllowedHostsOriginValidator), then Django's URL patterns
(as URLRouter, whose routes are used).
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable
from typing import Any
from urllib.parse import ParseResult, urlparse

from channels.routing import URLRouter
from channels.security.websocket import OriginValidator, WebsocketDenier
from django.conf import settings
from django.urls.exceptions import Resolver404

from meetings.routing import websocket_urlpatterns as meetings_ws
from meetings.streams.routing import websocket_urlpatterns as streams_ws

websocket_urlpatterns = [*streams_ws, *meetings_ws]

# URLRouter prepares the patterns (nested routers must not match as endpoints); its routes are matched below.
_router = URLRouter(websocket_urlpatterns)


def _origin(scope: dict[str, Any]) -> ParseResult | None:
    origin = None
    for name, value in scope.get("headers", ()):
        if name == b"origin":
            # Latin-1 decodes any bytes; a malformed URL ("http://[x") counts as no Origin, i.e. refused.
            with contextlib.suppress(ValueError):
                origin = urlparse(value.decode("latin1"))
    return origin


def _origin_allowed(scope: dict[str, Any]) -> bool:
    # AllowedHostsOriginValidator's rule, with the setting read per connection rather than at import.
    hosts = list(settings.ALLOWED_HOSTS)
    if settings.DEBUG and not hosts:
        hosts = ["localhost", "127.0.0.1", "[::1]"]
    return bool(OriginValidator(None, hosts).valid_origin(_origin(scope)))


def websocket(scope: dict[str, Any], receive: Any, send: Any) -> Awaitable[None]:
    """The application of one websocket connection: its consumer's coroutine, or a refusal (a foreign
    Origin, or a path no route matches: 403 at the handshake)."""
    path: str = scope.get("path", "")
    root_path: str = scope.get("root_path", "")
    if _origin_allowed(scope) and path.startswith(root_path):
        path = path[len(root_path) :].lstrip("/")
        for route in _router.routes:
            try:
                match = route.pattern.match(path)
            except Resolver404:
                continue
            if not match:
                continue
            remaining, args, kwargs = match
            kwargs.update(route.default_args)
            inner = dict(scope, path_remaining=remaining, url_route={"args": args, "kwargs": kwargs})
            app = route.callback
            consumer_class = getattr(app, "consumer_class", None)
            if consumer_class is not None:  # Consumer.as_asgi(): skip its wrapper coroutine
                return consumer_class(**app.consumer_initkwargs)(inner, receive, send)  # type: ignore[no-any-return]
            return app(inner, receive, send)  # type: ignore[no-any-return]  # middleware or a nested router
    return WebsocketDenier()(scope, receive, send)
