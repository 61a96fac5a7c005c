"""Anonymous public meetings (/new/): no account, an unguessable room name under the configured tenant.

The creator's browser session holds the right to moderate; everyone with the link joins as a member with a
display name. Rooms nobody used for ANONYMOUS_ROOM_IDLE_HOURS expire: refused on access, deleted by
`manage.py expire_anonymous_rooms`.
"""

from __future__ import annotations

import base64
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from meetings.models import Room
from tenants.models import AuditEntry, Tenant
from tenants.services import audit


def anonymous_tenant() -> Tenant | None:
    """The tenant that hosts anonymous meetings, with its deployment; None when not configured."""
    slug = settings.ANONYMOUS_TENANT
    if not slug:
        return None
    return (
        Tenant.objects.filter(slug=slug, is_active=True, deployment__isnull=False)
        .select_related("deployment")
        .first()
    )


def new_room_name() -> str:
    """130 random bits in lowercase base32: valid as a Jitsi room name, and not guessable."""
    return base64.b32encode(secrets.token_bytes(17)).decode().rstrip("=").lower()


def idle_cutoff(now: datetime) -> datetime:
    return now - timedelta(hours=settings.ANONYMOUS_ROOM_IDLE_HOURS)


def is_expired(room: Room, now: datetime) -> bool:
    last = room.last_used_at or room.created_at
    return room.is_anonymous and last is not None and last < idle_cutoff(now)


@transaction.atomic
def create_anonymous_room(*, tenant: Tenant, now: datetime) -> Room:
    room = Room(
        tenant=tenant,
        owner=None,
        title=_("Open meeting"),
        name=new_room_name(),
        access=Room.Access.LINK,
        is_anonymous=True,
        last_used_at=now,
    )
    room.full_clean(exclude=["owner", "co_hosts", "invitees"])
    room.save()
    # Nobody signed in acted; the row still tells the tenant's admins that anonymous meetings are used.
    audit(
        tenant=tenant, actor=None, action="room.anonymous_created", target=room.name, by=AuditEntry.ANONYMOUS
    )
    return room


@transaction.atomic
def expire_anonymous_rooms(*, now: datetime) -> int:
    """Delete anonymous rooms idle for longer than ANONYMOUS_ROOM_IDLE_HOURS. Returns how many."""
    cutoff = idle_cutoff(now)
    stale = Room.objects.filter(is_anonymous=True).filter(
        Q(last_used_at__lt=cutoff) | Q(last_used_at__isnull=True, created_at__lt=cutoff)
    )
    deleted, by_model = stale.delete()
    return int(by_model.get(Room._meta.label, 0)) if deleted else 0
