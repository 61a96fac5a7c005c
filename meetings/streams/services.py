"""State changes of live streams. Hosts enable streams, rotate keys and choose who may watch (audited); the
media server's callbacks start and end publications (recorded as StreamSession rows). Viewer pages learn of a
start or end after commit (meetings.streams.live)."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from meetings.models import Room
from meetings.streams.models import RoomStream, StreamSession, new_publish_secret
from tenants.models import User
from tenants.services import audit

SETTINGS_FIELDS = ("audience", "offer_instead", "offer_when_count")


def _announce(stream: RoomStream) -> None:
    from meetings.streams import live

    tenant_slug, room_name, is_live = stream.room.tenant.slug, stream.room.name, stream.is_live
    transaction.on_commit(lambda: live.publish_state(tenant_slug, room_name, live=is_live))


@transaction.atomic
def enable_stream(*, actor: User, room: Room) -> RoomStream:
    """The room's stream (created with a path and a secret on first use). The room must allow streaming."""
    if not room.allow_livestreaming:
        raise ValidationError(_("Allow live streaming in the room's settings first."))
    stream, created = RoomStream.objects.get_or_create(room=room, defaults={"tenant": room.tenant})
    if created:
        audit(tenant=room.tenant, actor=actor, action="stream.enabled", target=room.name)
    return stream


@transaction.atomic
def rotate_stream_key(*, actor: User, stream: RoomStream) -> RoomStream:
    """A new publish secret: the old RTMP URL is refused from the next publication on."""
    stream = RoomStream.objects.select_for_update().select_related("room__tenant").get(pk=stream.pk)
    stream.secret = new_publish_secret()
    stream.key_rotated_at = timezone.now()
    stream.save(update_fields=["secret", "key_rotated_at"])
    audit(tenant=stream.tenant, actor=actor, action="stream.key_rotated", target=stream.room.name)
    return stream


@transaction.atomic
def change_stream_settings(*, actor: User, stream: RoomStream, **changes: Any) -> RoomStream:
    unknown = set(changes) - set(SETTINGS_FIELDS)
    if unknown:
        raise TypeError(f"not stream settings: {sorted(unknown)}")
    stream = RoomStream.objects.select_for_update().select_related("room__tenant").get(pk=stream.pk)
    fields = [name for name, value in changes.items() if getattr(stream, name) != value]
    if not fields:
        return stream
    if "audience" in fields:
        stream.pass_epoch += 1  # passes handed out under the old rule stop opening the stream
        fields.append("pass_epoch")
    for name in SETTINGS_FIELDS:
        if name in changes:
            setattr(stream, name, changes[name])
    stream.full_clean(exclude=["tenant", "room", "secret"])
    stream.save(update_fields=fields)
    audit(
        tenant=stream.tenant,
        actor=actor,
        action="stream.settings_changed",
        target=stream.room.name,
        **{name: changes[name] for name in fields if name in changes},
    )
    return stream


# The media server's callbacks ---------------------------------------------------------------------


@dataclass(frozen=True)
class PublishRequest:
    """What a media server says about a publisher, whatever its hook's format."""

    path: str
    secret: str
    addr: str = ""
    server: str = "nginx-rtmp"
    client_id: str = ""  # the media server's id of the connection, when it has one


def _publishable(path: str) -> RoomStream | None:
    return (
        RoomStream.objects.select_for_update(of=("self",))
        .select_related("room__tenant")
        .filter(path=path, room__archived=False, room__allow_livestreaming=True, room__tenant__is_active=True)
        .first()
    )


def _secret_matches(stream: RoomStream, secret: str) -> bool:
    return bool(secret) and hmac.compare_digest(stream.secret.encode(), secret.encode())


@transaction.atomic
def start_publishing(*, request: PublishRequest, at: datetime | None = None) -> RoomStream | None:
    """Allow a publisher with the right secret for the right stream, and record the start; None refuses."""
    stream = _publishable(request.path) if request.path else None
    if stream is None or not _secret_matches(stream, request.secret):
        return None
    at = at or timezone.now()
    # A publication the media server never ended (a crash) ends where the next begins.
    StreamSession.objects.filter(stream=stream, ended_at__isnull=True).update(ended_at=at)
    StreamSession.objects.create(
        tenant=stream.tenant,
        stream=stream,
        started_at=at,
        publisher_addr=request.addr[:64],
        publisher_id=request.client_id[:64],
        server=request.server[:20],
    )
    stream.live_since = at
    stream.save(update_fields=["live_since"])
    _announce(stream)
    return stream


@transaction.atomic
def end_publishing(*, request: PublishRequest, at: datetime | None = None) -> RoomStream | None:
    """Record the end of the stream's publication. It is named by the secret, or (the key may have been
    rotated meanwhile) by the media server's connection id and address of the open publication; None when
    neither holds."""
    stream = (
        RoomStream.objects.select_for_update(of=("self",))
        .select_related("room__tenant")
        .filter(path=request.path)
        .first()
    )
    if stream is None:
        return None
    same_connection = bool(request.client_id) and (
        StreamSession.objects.filter(
            stream=stream, ended_at__isnull=True, publisher_id=request.client_id, publisher_addr=request.addr
        ).exists()
    )
    if not same_connection and not _secret_matches(stream, request.secret):
        return None
    at = at or timezone.now()
    StreamSession.objects.filter(stream=stream, ended_at__isnull=True).update(ended_at=at)
    if stream.live_since is not None:
        stream.live_since = None
        stream.save(update_fields=["live_since"])
        _announce(stream)
    return stream
