"""A small world for fault tests and bench/faults.py in a database of its own (a private PostgreSQL):
one tenant with its deployment, one always-open room, signed-in members with sessions.

`python -m tests.fault_world <count>` seeds the database of DATABASE_URL and prints it as JSON."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

TENANT = "faults"
ROOM = "fault-room"


def seed(people: int) -> dict[str, Any]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
    django.setup()
    from django_scopes import scopes_disabled

    with scopes_disabled():  # seeding a fresh database, as the benches do
        return _seed(people)


def _seed(people: int) -> dict[str, Any]:
    from importlib import import_module

    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.middleware.csrf import _get_new_csrf_string  # the value a csrftoken cookie holds

    from meetings.models import Room
    from tenants.models import Membership, Tenant, User
    from tenants.services import create_tenant

    tenant = Tenant.objects.filter(slug=TENANT).first() or create_tenant(
        actor=None,
        slug=TENANT,
        name="Fault University",
        deployment={
            "base_url": "https://meet.faults.example.org",
            "xmpp_domain": "meet.faults.example.org",
            "app_id": "auditorium-faults",
        },
    )
    owner, _ = User.objects.get_or_create(username="fault-owner")
    Room.objects.get_or_create(
        tenant=tenant,
        name=ROOM,
        defaults={"title": "Fault room", "owner": owner, "access": Room.Access.TENANT},
    )
    store_class = import_module(settings.SESSION_ENGINE).SessionStore
    sessions = []
    for i in range(people):
        user, _ = User.objects.get_or_create(username=f"fault-{i}", defaults={"display_name": f"Fault {i}"})
        Membership.objects.get_or_create(user=user, tenant=tenant)
        store = store_class()
        store[SESSION_KEY] = str(user.pk)
        store[BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[0]
        store[HASH_SESSION_KEY] = user.get_session_auth_hash()
        store.create()
        sessions.append([str(store.session_key), _get_new_csrf_string()])
    return {
        "tenant": TENANT,
        "room": ROOM,
        "deployment": tenant.deployment.slug,
        "event_secret": tenant.deployment.event_secret,
        "sessions": sessions,
    }


if __name__ == "__main__":
    print(json.dumps(seed(int(sys.argv[1]) if len(sys.argv) > 1 else 4)))
