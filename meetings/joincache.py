"""Rooms by name, as a join needs them, kept per process while their rows are unchanged.

An entry holds every active room of one name (across tenants) with its tenant and deployment, the ids of its
co-hosts and invitees, and its lecture series with their changes: everything the access matrix and the join
window read. What the person is to the room is then computed per request from those ids and the user's
memberships (tenants/hotcache.py). Freshness: see tenants/hotcache.py. Every change of a room, its co-hosts,
invitees, series or lecture changes replaces the token of the room's name (receivers below); changes of
tenants, deployments and signing keys replace the token shared by all rooms.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AnonymousUser

from meetings.models import LectureSeries, OccurrenceChange, Room
from tenants import hotcache
from tenants.models import Tenant


@dataclass(frozen=True)
class RoomEntry:
    room: Room  # with tenant and deployment loaded; never handed out itself (callers get a copy)
    co_host_ids: frozenset[int]
    invitee_ids: frozenset[int]
    series: tuple[LectureSeries, ...]  # with their changes prefetched
    # schedule.join_window()'s last answer and how long it holds: [(valid_from, valid_until, JoinWindow)]
    window_memo: list[Any] = field(default_factory=list)


_rooms: hotcache.LocalCache[tuple[RoomEntry, ...]] = hotcache.LocalCache(
    "rooms", max_age=hotcache.max_age, holds="the active rooms of one name with what a join decides from"
)


def _load(name: str) -> tuple[RoomEntry, ...]:
    from meetings.access import rooms_named_from_db

    rooms = rooms_named_from_db(name, AnonymousUser())
    if not rooms:
        return ()
    ids = [r.pk for r in rooms]
    co_hosts: dict[int, set[int]] = {pk: set() for pk in ids}
    invitees: dict[int, set[int]] = {pk: set() for pk in ids}
    for room_id, user_id in Room.co_hosts.through.objects.filter(room_id__in=ids).values_list(
        "room_id", "user_id"
    ):
        co_hosts[room_id].add(user_id)
    for room_id, user_id in Room.invitees.through.objects.filter(room_id__in=ids).values_list(
        "room_id", "user_id"
    ):
        invitees[room_id].add(user_id)
    series: dict[int, list[LectureSeries]] = {pk: [] for pk in ids}
    for s in LectureSeries.objects.filter(room_id__in=ids).prefetch_related("changes"):
        series[s.room_id].append(s)
    return tuple(
        RoomEntry(
            room=r,
            co_host_ids=frozenset(co_hosts[r.pk]),
            invitee_ids=frozenset(invitees[r.pk]),
            series=tuple(series[r.pk]),
        )
        for r in rooms
    )


def token_keys(name: str) -> tuple[str, ...]:
    """The shared keys whose tokens an entry for `name` is checked against (read them with the request's
    other cache calls and pass them to rooms_named to save a round trip)."""
    return (hotcache.room_key(name), hotcache.ALL_ROOMS)


def rooms_named(
    name: str, user: Any, tenant: Tenant | None = None, tokens: dict[str, Any] | None = None
) -> list[Room]:
    """access.rooms_named() from process memory: private copies of the rooms, viewer annotations set,
    their series ready for schedule.join_window(). `tokens`: token_keys(name) already read in this
    request, before anything was loaded for it."""
    keys = list(token_keys(name))
    if tokens is None or any(k not in tokens for k in keys):
        tokens = hotcache.read_generations(keys)
    entries = _rooms.get(name, tuple(tokens[k] for k in keys), lambda: _load(name))
    return rooms_for_viewer(entries, user, tenant)


def peek(name: str) -> tuple[RoomEntry, ...] | None:
    """This process's entries for `name` without checking their tokens (hotcache.LocalCache.peek); keep
    what is computed from them only if current() then answers the very same tuple."""
    entry = _rooms.peek(name)
    return entry.value if entry is not None else None


def current(name: str, tokens: dict[str, Any]) -> tuple[RoomEntry, ...] | None:
    """The entries for `name` if they are young and carry exactly the tokens read in `tokens`."""
    keys = token_keys(name)
    entry = _rooms.peek(name)
    if entry is None or any(k not in tokens for k in keys):
        return None
    return entry.value if entry.tokens == tuple(tokens[k] for k in keys) else None


def rooms_for_viewer(entries: tuple[RoomEntry, ...], user: Any, tenant: Tenant | None = None) -> list[Room]:
    """Private copies of the rooms with the viewer annotations set and their series ready for
    schedule.join_window()."""
    if tenant is not None:
        entries = tuple(e for e in entries if e.room.tenant_id == tenant.pk)
    if not entries:
        return []
    signed_in = getattr(user, "is_authenticated", False)
    member_of: frozenset[int] = frozenset()
    if signed_in:
        member_of = hotcache.member_tenant_ids(user)  # type: ignore[assignment]
        if member_of is None:  # a user that did not come through the cached backend (API tokens)
            entry = hotcache.user_entry(user.pk)
            member_of = entry.member_of if entry is not None else frozenset()
    rooms = []
    for e in entries:
        room = copy.copy(e.room)
        room.viewer_is_co_host = signed_in and user.pk in e.co_host_ids  # type: ignore[attr-defined]
        room.viewer_is_invitee = signed_in and user.pk in e.invitee_ids  # type: ignore[attr-defined]
        room.viewer_is_member = signed_in and room.tenant_id in member_of  # type: ignore[attr-defined]
        room.hot_series = e.series  # type: ignore[attr-defined]
        room.hot_window_memo = e.window_memo  # type: ignore[attr-defined]
        rooms.append(room)
    return rooms


def room_changed(room: Room) -> None:
    """The room's row was written outside its model's save() (e.g. last_used_at)."""
    hotcache.changed(hotcache.room_key(room.name))


def clear_local() -> None:
    _rooms.clear()


# Signal receivers, connected in MeetingsConfig.ready().


def _room_saved(
    sender: Any, instance: Room, update_fields: Any = None, created: bool = False, **kw: Any
) -> None:
    keys = [hotcache.room_key(instance.name)]
    if not created and (update_fields is None or "name" in update_fields):
        keys.append(hotcache.ALL_ROOMS)  # a rename: the old name's entry is unknown here
    hotcache.changed(*keys)


def _rooms_updated(sender: Any, rows: list[dict[str, Any]], **kw: Any) -> None:
    hotcache.changed(*(hotcache.room_key(name) for name in sorted({row["name"] for row in rows})))


def _room_deleted(sender: Any, instance: Room, **kw: Any) -> None:
    hotcache.changed(hotcache.room_key(instance.name))


def _people_changed(sender: Any, instance: Any, action: str, reverse: bool, **kw: Any) -> None:
    if not action.startswith("post_"):
        return
    if isinstance(instance, Room):
        hotcache.changed(hotcache.room_key(instance.name))
    else:  # changed from the user's side (user.co_hosted_rooms.add(...)): which rooms is not worth a query
        hotcache.changed(hotcache.ALL_ROOMS)


def _room_of(room_id: int | None) -> list[str]:
    if room_id is None:
        return [hotcache.ALL_ROOMS]
    name = Room.objects.filter(pk=room_id).values_list("name", flat=True).first()
    return [hotcache.room_key(name)] if name is not None else [hotcache.ALL_ROOMS]


def _series_saved(sender: Any, instance: LectureSeries, **kw: Any) -> None:
    hotcache.changed(*_room_of(instance.room_id))


def _change_saved(sender: Any, instance: OccurrenceChange, **kw: Any) -> None:
    room_id = LectureSeries.objects.filter(pk=instance.series_id).values_list("room_id", flat=True).first()
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
