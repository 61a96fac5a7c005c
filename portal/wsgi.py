"""WSGI entry point for plain HTTP workers (see the README's deployment section)."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

_portal = get_wsgi_application()  # sets Django up

from portal.handlers import MachineWSGIHandler, PathDispatch  # noqa: E402

# Prosody's calls (/jitsi/...) skip the portal's middleware: portal/handlers.py.
application = PathDispatch(_portal, MachineWSGIHandler())
