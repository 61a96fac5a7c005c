"""Channels' routing stack for the live-count websockets behind ProtocolTypeRouter, to compare with
portal/asgi.py (bench/fanout.py --asgi bench.asgi_lean:application).

ProtocolTypeRouter, AllowedHostsOriginValidator and URLRouter without Channels' cookie, session and auth
middleware: portal/asgi.py serves the same origin check and router (portal/routing.py) but picks HTTP or
websocket without a router coroutine of its own staying suspended above each socket.
"""

from __future__ import annotations

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

from django.core.asgi import get_asgi_application

django_asgi_app = get_asgi_application()

from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from portal.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {"http": django_asgi_app, "websocket": AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))}
)
