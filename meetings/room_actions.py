"""State changes of rooms made through the API: create, update, archive, co-hosts.

Kept apart from meetings/services.py (written in parallel on another branch); the integrator folds these
into services.py. Each: keyword arguments, an actor, one transaction, save(update_fields=...), audit."""

from __future__ import annotations

import secrets
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.text import slugify

from meetings.models import Room
from tenants.models import Tenant, User
from tenants.services import audit

# Fields a host may set on a room. Everything else (tenant, owner, archived, hashes) is set by the portal.
EDITABLE_FIELDS = (
    "title",
    "description",
    "access",
    "lobby",
    "allow_recording",
    "allow_livestreaming",
    "allow_participant_screen_sharing",
)
_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no look-alikes: people read names off slides


class RoomNameTaken(Exception):
    """Another room of the tenant already has this Jitsi room name."""


def generate_room_name(title: str) -> str:
    """A readable but unguessable Jitsi room name: the title's slug plus 10 random characters (50 bits)."""
    stem = slugify(title)[:60].strip("-")
    suffix = "".join(secrets.choice(_ALPHABET) for _ in range(10))
    return f"{stem}-{suffix}" if stem else suffix


@transaction.atomic
def create_room(*, actor: User, tenant: Tenant, title: str, name: str | None = None, **fields: Any) -> Room:
    unknown = set(fields) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    explicit = bool(name)
    for _attempt in range(5):
        room = Room(tenant=tenant, owner=actor, title=title, name=name or generate_room_name(title), **fields)
        try:
            with transaction.atomic():
                room.save()
        except IntegrityError as exc:
            if explicit:
                raise RoomNameTaken(room.name) from exc
            continue  # a generated name collided: draw another
        audit(tenant=tenant, actor=actor, action="room.created", target=room.name, title=title)
        return room
    raise RoomNameTaken(name or "")


@transaction.atomic
def update_room(*, actor: User, room: Room, changes: dict[str, Any]) -> Room:
    unknown = set(changes) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"not editable: {sorted(unknown)}")
    changed = [field for field, value in changes.items() if getattr(room, field) != value]
    if not changed:
        return room
    for field in changed:
        setattr(room, field, changes[field])
    room.save(update_fields=changed)
    audit(tenant=room.tenant, actor=actor, action="room.updated", target=room.name, fields=sorted(changed))
    return room


@transaction.atomic
def archive_room(*, actor: User, room: Room) -> Room:
    """Archive a room (idempotent): it leaves lists and cannot be joined, its history stays."""
    if not room.archived:
        room.archived = True
        room.save(update_fields=["archived"])
        audit(tenant=room.tenant, actor=actor, action="room.archived", target=room.name)
    return room


@transaction.atomic
def add_co_host(*, actor: User, room: Room, user: User) -> None:
    """Callers check that `user` is a member of the room's tenant."""
    room.co_hosts.add(user)
    audit(
        tenant=room.tenant,
        actor=actor,
        action="room.co_host_added",
        target=room.name,
        user=str(user.public_id),
    )


@transaction.atomic
def remove_co_host(*, actor: User, room: Room, user: User) -> None:
    room.co_hosts.remove(user)
    audit(
        tenant=room.tenant,
        actor=actor,
        action="room.co_host_removed",
        target=room.name,
        user=str(user.public_id),
    )
