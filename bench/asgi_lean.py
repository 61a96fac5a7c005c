"""channels' own routing stack for the live-count websockets, to compare with portal/asgi.py
(bench/fanout.py --asgi bench.asgi_lean:application).

ProtocolTypeRouter, AllowedHostsOriginValidator and URLRouter without Channels' cookie, session and auth
middleware: what portal/asgi.py served before it chose each connection's consumer up front (portal.routing).
Measured 23.5-23.6 KiB per idle viewer against 21.7 KiB for portal/asgi.py (README, "Live counts").
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
