"""Rooms by (tenant, name), as a join needs them, kept per process while their rows are unchanged.

An entry holds one active room with its tenant and deployment, the ids of its co-hosts and invitees, and its
lecture series with their changes: everything the access matrix and the join window read. What the person is
to the room is then computed per request from those ids and the user's memberships (tenants/hotcache.py).
Freshness: see tenants/hotcache.py. Every change of a room, its co-hosts, invitees, series or lecture
changes replaces the token of the room's (tenant, name) (receivers below); changes of tenants, deployments and
signing keys replace the token shared by all rooms.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from django_scopes import scope, scopes_disabled

from meetings.access import room_from_db
from meetings.models import LectureSeries, OccurrenceChange, Room
from tenants import hotcache


@dataclass(frozen=True)
class RoomEntry:
    room: Room  # with tenant and deployment loaded; never handed out itself (callers get a copy)
    co_host_ids: frozenset[int]
    invitee_ids: frozenset[int]
    series: tuple[LectureSeries, ...]  # with their changes prefetched
    # schedule.join_window()'s last answer and how long it holds: [(valid_from, valid_until, JoinWindow)]
    window_memo: list[Any] = field(default_factory=list)


# Key: (tenant id, room name); value: None for "no such active room" (a miss is remembered as well).
_rooms: hotcache.LocalCache[RoomEntry | None] = hotcache.LocalCache(
    "rooms", max_age=hotcache.max_age, holds="one active room of a tenant with what a join decides from"
)


def _load(tenant_id: int, name: str) -> RoomEntry | None:
    room = room_from_db(tenant_id, name)
    if room is None:
        return None
    with scope(tenant=tenant_id):  # one tenant's rows, whoever asks (the join API resolves it first)
        co_hosts = frozenset(
            Room.co_hosts.through.objects.filter(room_id=room.pk).values_list("user_id", flat=True)
        )
        invitees = frozenset(
            Room.invitees.through.objects.filter(room_id=room.pk).values_list("user_id", flat=True)
        )
        series = tuple(LectureSeries.objects.filter(room_id=room.pk).prefetch_related("changes"))
    return RoomEntry(room=room, co_host_ids=co_hosts, invitee_ids=invitees, series=series)


def token_keys(tenant_id: int, name: str) -> tuple[str, ...]:
    """The shared keys whose tokens an entry for (tenant, name) is checked against (read them with the
    request's other cache calls and pass them to room_named to save a round trip)."""
    return (hotcache.room_key(tenant_id, name), hotcache.ALL_ROOMS)


def room_named(tenant_id: int, name: str, user: Any, tokens: dict[str, Any] | None = None) -> Room | None:
    """The room from process memory: a private copy, viewer annotations set, its series ready for
    schedule.join_window(). `tokens`: token_keys() already read in this request, before anything was loaded
    for it."""
    keys = list(token_keys(tenant_id, name))
    if tokens is None or any(k not in tokens for k in keys):
        tokens = hotcache.read_generations(keys)
    entry = _rooms.get((tenant_id, name), tuple(tokens[k] for k in keys), lambda: _load(tenant_id, name))
    return room_for_viewer(entry, user) if entry is not None else None


def peek(tenant_id: int, name: str) -> RoomEntry | None:
    """This process's entry without checking its tokens (hotcache.LocalCache.peek); keep what is computed
    from it only if current() then answers the very same entry."""
    entry = _rooms.peek((tenant_id, name))
    return entry.value if entry is not None else None


def current(tenant_id: int, name: str, tokens: dict[str, Any]) -> RoomEntry | None:
    """The entry if it is young and carries exactly the tokens read in `tokens`."""
    keys = token_keys(tenant_id, name)
    entry = _rooms.peek((tenant_id, name))
    if entry is None or any(k not in tokens for k in keys):
        return None
    return entry.value if entry.tokens == tuple(tokens[k] for k in keys) else None


def room_for_viewer(entry: RoomEntry, user: Any) -> Room:
    """A private copy of the room with the viewer annotations set and its series ready for
    schedule.join_window()."""
    signed_in = getattr(user, "is_authenticated", False)
    member_of: frozenset[int] = frozenset()
    if signed_in:
        member_of = hotcache.member_tenant_ids(user)  # type: ignore[assignment]
        if member_of is None:  # a user that did not come through the cached backend (API tokens)
            found = hotcache.user_entry(user.pk)
            member_of = found.member_of if found is not None else frozenset()
    room = copy.copy(entry.room)
    room.viewer_is_co_host = signed_in and user.pk in entry.co_host_ids  # type: ignore[attr-defined]
    room.viewer_is_invitee = signed_in and user.pk in entry.invitee_ids  # type: ignore[attr-defined]
    room.viewer_is_member = signed_in and room.tenant_id in member_of  # type: ignore[attr-defined]
    room.hot_series = entry.series  # type: ignore[attr-defined]
    room.hot_window_memo = entry.window_memo  # type: ignore[attr-defined]
    return room


def room_changed(room: Room) -> None:
    """The room's row was written outside its model's save() (e.g. last_used_at)."""
    hotcache.changed(hotcache.room_key(room.tenant_id, room.name))


def clear_local() -> None:
    _rooms.clear()


# Signal receivers, connected in MeetingsConfig.ready().


def _room_saved(
    sender: Any, instance: Room, update_fields: Any = None, created: bool = False, **kw: Any
) -> None:
    keys = [hotcache.room_key(instance.tenant_id, instance.name)]
    if not created and (update_fields is None or "name" in update_fields):
        keys.append(hotcache.ALL_ROOMS)  # a rename: the old name's entry is unknown here
    hotcache.changed(*keys)


def _rooms_updated(sender: Any, rows: list[dict[str, Any]], **kw: Any) -> None:
    keys = sorted({(row["tenant_id"], row["name"]) for row in rows})
    hotcache.changed(*(hotcache.room_key(tenant_id, name) for tenant_id, name in keys))


def _room_deleted(sender: Any, instance: Room, **kw: Any) -> None:
    hotcache.changed(hotcache.room_key(instance.tenant_id, instance.name))


def _people_changed(sender: Any, instance: Any, action: str, reverse: bool, **kw: Any) -> None:
    if not action.startswith("post_"):
        return
    if isinstance(instance, Room):
        hotcache.changed(hotcache.room_key(instance.tenant_id, instance.name))
    else:  # changed from the user's side (user.co_hosted_rooms.add(...)): which rooms is not worth a query
        hotcache.changed(hotcache.ALL_ROOMS)


def _room_of(room_id: int | None) -> list[str]:
    if room_id is None:
        return [hotcache.ALL_ROOMS]
    with scopes_disabled():  # cross-tenant by id: only to name the cache key to invalidate
        found = Room.objects.filter(pk=room_id).values_list("tenant_id", "name").first()
    return [hotcache.room_key(*found)] if found is not None else [hotcache.ALL_ROOMS]


def _series_saved(sender: Any, instance: LectureSeries, **kw: Any) -> None:
    hotcache.changed(*_room_of(instance.room_id))


def _change_saved(sender: Any, instance: OccurrenceChange, **kw: Any) -> None:
    with scopes_disabled():  # cross-tenant by id: only to name the cache key to invalidate
        room_id = (
            LectureSeries.objects.filter(pk=instance.series_id).values_list("room_id", flat=True).first()
        )
    hotcache.changed(*_room_of(room_id))


def connect() -> None:
    from django.db.models.signals import m2m_changed, post_delete, post_save

    from portal.signals import bulk_updated

    post_save.connect(_room_saved, sender=Room, dispatch_uid="hot_room_saved")
    post_delete.connect(_room_deleted, sender=Room, dispatch_uid="hot_room_deleted")
    bulk_updated.connect(_rooms_updated, sender=Room, dispatch_uid="hot_rooms_updated")
    for through in (Room.co_hosts.through, Room.invitees.through):
        m2m_changed.connect(_people_changed, sender=through, dispatch_uid=f"hot_{through.__name__}")
    for signal in (post_save, post_delete):
        signal.connect(_series_saved, sender=LectureSeries, dispatch_uid="hot_series")
        signal.connect(_change_saved, sender=OccurrenceChange, dispatch_uid="hot_occurrence_change")
