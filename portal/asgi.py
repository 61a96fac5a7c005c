"""ASGI entry point: HTTP through Django, websockets through Channels (served by Daphne)."""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from django.core.asgi import get_asgi_application

# Django must be set up before anything imports models (the consumers do).
django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from portal.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # No cookie/session/auth middleware: every websocket route (the live counts) resolves the user from
        # the session cookie in connect() (meetings.consumers.user_of), so an idle viewer does not hold those
        # layers' coroutines and scope copies (30.4 -> 26.8 KiB per viewer). A route that needs
        # scope["user"] wraps itself in channels.auth.AuthMiddlewareStack.
        "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns)),
    }
)
