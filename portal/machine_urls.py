"""Prosody's (and Jibri's) routes under /jitsi/<deployment>/: events, ASAP public keys, branding
(CONTRACTS.md §2), recording uploads (§6).

The whole URL configuration of the lean /jitsi/ WSGI handler (portal/handlers.py), and included as is by
portal/urls.py. Nothing else resolves under /jitsi/: no tenant page can run there without its middleware."""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path

import portal.converters  # noqa: F401 - registers the path converters used below
from meetings import event_views, join_views
from meetings.recordings import ingest as recording_ingest
from tenants import branding_views

urlpatterns: list[Any] = [
    path("jitsi/<tenant:deployment>/branding.json", branding_views.jitsi_branding, name="jitsi_branding"),
    path(
        "jitsi/<tenant:deployment>/asap/<digest:digest>.pem",
        join_views.asap_public_key,
        name="jitsi_asap_key",
    ),
    # Prosody's event_sync component (CONTRACTS.md §2).
    re_path(
        r"^jitsi/(?P<deployment>[a-z0-9-]{1,50})/events/"
        r"(?P<kind>room/created|room/destroyed|occupant/joined|occupant/left)$",
        event_views.receive_event,
        name="jitsi_events",
    ),
    # Jibri's finalize script uploads recordings over tus (meetings/recordings/ingest.py).
    path("jitsi/<tenant:deployment>/recordings/", recording_ingest.uploads, name="jitsi_recordings"),
    path(
        "jitsi/<tenant:deployment>/recordings/<upload:upload>",
        recording_ingest.upload,
        name="jitsi_recording_upload",
    ),
]

# The lean handler resolves with this module alone: its failures get the portal's JSON answers too (503 with
# Retry-After while PostgreSQL is away, so that Prosody retries the event).
handler500 = "portal.errors.server_error"
