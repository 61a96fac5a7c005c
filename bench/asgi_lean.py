"""The ASGI stack proposed for the live-count websockets (measured by bench/fanout.py --asgi bench.asgi_lean).

Same as portal/asgi.py, except that websockets skip Channels' cookie, session and auth middleware: the
live-count consumers resolve the user from the session cookie themselves in connect() (meetings.consumers.
user_of), so an idle viewer does not hold three more coroutine frames and scope copies for its lifetime.
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
