"""Parsing and validating the JSON that Prosody's `event_sync` component posts (CONTRACTS.md §2).

Pure functions, no database: bytes in, a typed event out, or `EventError` with a message an operator can
act on (the endpoint answers it as 400, so Prosody does not retry a body that can never succeed).

Shapes as recorded from real Prosody: timestamps are whole Unix seconds; `occupant.id`/`name`/`email` are
absent (not null) without `context.user`; `all_occupants` is an empty *object* `{}` when nobody but the focus
was in the room; tenant-path rooms arrive as `[tenant]room`; non-ASCII names stay percent-encoded.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

from portal.validators import TextRule

# The path suffix under /jitsi/<deployment>/events/ and the event_name Prosody puts in the body.
EVENT_NAMES = {
    "room/created": "muc-room-created",
    "room/destroyed": "muc-room-destroyed",
    "occupant/joined": "muc-occupant-joined",
    "occupant/left": "muc-occupant-left",
}

# Unix seconds between 2000 and 2100: anything else is a broken clock or a wrong field, not a meeting.
_MIN_TS, _MAX_TS = 946684800, 4102444800
# More people than any Jitsi room holds; beyond it a count is a broken or hostile body (and would overflow
# the database's integer).
MAX_OCCUPANTS = 100_000
# Lengths of the strings kept (MeetingSession.room_name, Occupancy.occupant_jid and .participant_id).
MAX_ROOM_NAME, MAX_ROOM_JID, MAX_JID, MAX_PARTICIPANT_ID = 300, 600, 500, 200
_IDENTIFIER = TextRule()  # one line, no control characters: the portal's rule for all text


class EventError(ValueError):
    """A body that can never be processed: answered with 400 and this message."""


@dataclass(frozen=True)
class RoomRef:
    room_name: str  # internal form: "room1", "[acme]room2", "m%c3%bcller"
    room_jid: str
    is_breakout: bool

    @property
    def tenant_segment(self) -> str:
        """`acme` for `[acme]room2`, else ''."""
        if self.room_name.startswith("[") and "]" in self.room_name:
            return self.room_name[1 : self.room_name.index("]")]
        return ""

    @property
    def node(self) -> str:
        """The room name without the tenant prefix: `room2` for `[acme]room2`."""
        if self.tenant_segment:
            return self.room_name[self.room_name.index("]") + 1 :]
        return self.room_name


@dataclass(frozen=True)
class Occupant:
    occupant_jid: str
    joined_at: datetime
    left_at: datetime | None
    participant_id: str  # occupant.id (from the token's context.user), '' when absent


@dataclass(frozen=True)
class RoomCreated:
    room: RoomRef
    created_at: datetime


@dataclass(frozen=True)
class RoomDestroyed:
    room: RoomRef
    created_at: datetime | None
    destroyed_at: datetime
    all_occupants: tuple[Occupant, ...]


@dataclass(frozen=True)
class OccupantJoined:
    room: RoomRef
    occupant: Occupant
    active_occupants_count: int | None


@dataclass(frozen=True)
class OccupantLeft:
    room: RoomRef
    occupant: Occupant
    active_occupants_count: int | None


Event = RoomCreated | RoomDestroyed | OccupantJoined | OccupantLeft


def parse_event(kind: str, body: bytes) -> Event:
    """Parse the body posted to /events/<kind> (`room/created`, ...). Raises EventError."""
    if kind not in EVENT_NAMES:
        raise EventError(_("Unknown event path “%(kind)s”.") % {"kind": kind})
    try:
        data = json.loads(body)
    except RecursionError:
        raise EventError(_("The body is nested too deeply.")) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise EventError(_("The body is not valid JSON: %(error)s") % {"error": exc}) from None
    except ValueError:
        # Python converts integers of at most 4300 digits (sys.get_int_max_str_digits).
        raise EventError(_("The body holds a number with too many digits.")) from None
    return parse_payload(kind, data)


def parse_payload(kind: str, data: Any) -> Event:
    if not isinstance(data, dict):
        raise EventError(_("The body must be a JSON object."))
    event_name = data.get("event_name")
    if event_name is not None and event_name != EVENT_NAMES[kind]:
        raise EventError(
            _("event_name “%(name)s” does not belong on /events/%(kind)s.")
            % {"name": event_name, "kind": kind}
        )
    room = _room(data)
    if kind == "room/created":
        return RoomCreated(room=room, created_at=_timestamp(data, "created_at"))
    if kind == "room/destroyed":
        return RoomDestroyed(
            room=room,
            created_at=_optional_timestamp(data, "created_at"),
            destroyed_at=_timestamp(data, "destroyed_at"),
            all_occupants=_all_occupants(data.get("all_occupants", [])),
        )
    occupant_data = data.get("occupant")
    if not isinstance(occupant_data, dict):
        raise EventError(_("Field “occupant” is missing or not an object."))
    occupant = _occupant(occupant_data, "occupant", needs_left=kind == "occupant/left")
    count = _count(data)
    if kind == "occupant/joined":
        return OccupantJoined(room=room, occupant=occupant, active_occupants_count=count)
    return OccupantLeft(room=room, occupant=occupant, active_occupants_count=count)


def _room(data: dict[str, Any]) -> RoomRef:
    room_name = _string(data, "room_name", limit=MAX_ROOM_NAME)
    room_jid = data.get("room_jid", "")
    if not isinstance(room_jid, str):
        raise EventError(_("Field “room_jid” must be a string."))
    _check_text(room_jid, "room_jid", MAX_ROOM_JID)
    is_breakout = data.get("is_breakout", False)
    if not isinstance(is_breakout, bool):
        raise EventError(_("Field “is_breakout” must be true or false."))
    if any(c in room_name for c in "@/ "):
        raise EventError(_("Field “room_name” is not a MUC room name."))
    return RoomRef(room_name=room_name, room_jid=room_jid, is_breakout=is_breakout)


def _check_text(value: str, label: str, limit: int) -> None:
    """The portal's text rule (no control characters, NUL, lone surrogates or line breaks) and a length."""
    if len(value) > limit:
        raise EventError(_("Field “%(field)s” is too long.") % {"field": label})
    try:
        _IDENTIFIER(value)
    except ValidationError as exc:
        raise EventError(
            _("Field “%(field)s”: %(problem)s") % {"field": label, "problem": " ".join(exc.messages)}
        ) from None


def _string(data: dict[str, Any], key: str, where: str = "", *, limit: int) -> str:
    label = f"{where}.{key}" if where else key
    if key not in data:
        raise EventError(_("Field “%(field)s” is missing.") % {"field": label})
    value = data[key]
    if not isinstance(value, str) or not value:
        raise EventError(_("Field “%(field)s” must be a non-empty string.") % {"field": label})
    _check_text(value, label, limit)
    return value


def _timestamp(data: dict[str, Any], key: str, where: str = "") -> datetime:
    value = _optional_timestamp(data, key, where)
    if value is None:
        label = f"{where}.{key}" if where else key
        raise EventError(_("Field “%(field)s” is missing.") % {"field": label})
    return value


def _optional_timestamp(data: dict[str, Any], key: str, where: str = "") -> datetime | None:
    label = f"{where}.{key}" if where else key
    if data.get(key) is None:
        return None
    value = data[key]
    # bool is an int in Python; `true` is not a time.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EventError(_("Field “%(field)s” must be Unix seconds (a number).") % {"field": label})
    if not _MIN_TS <= value <= _MAX_TS:
        raise EventError(
            _("Field “%(field)s” is not a plausible time: %(value)s") % {"field": label, "value": value}
        )
    return datetime.fromtimestamp(int(value), tz=UTC)


def _count(data: dict[str, Any]) -> int | None:
    value = data.get("active_occupants_count")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_OCCUPANTS:
        raise EventError(
            _("Field “active_occupants_count” must be a whole number from 0 to %(max)d.")
            % {"max": MAX_OCCUPANTS}
        )
    return value


def _occupant(data: dict[str, Any], where: str, *, needs_left: bool) -> Occupant:
    jid = _string(data, "occupant_jid", where, limit=MAX_JID)
    joined_at = _timestamp(data, "joined_at", where)
    left_at = (
        _timestamp(data, "left_at", where) if needs_left else _optional_timestamp(data, "left_at", where)
    )
    if left_at is not None and left_at < joined_at:
        raise EventError(_("The occupant left (%(field)s) before joining.") % {"field": f"{where}.left_at"})
    participant_id = data.get("id", "")
    if participant_id is None:
        participant_id = ""
    if not isinstance(participant_id, str | int) or isinstance(participant_id, bool):
        raise EventError(_("Field “%(field)s” must be a string.") % {"field": f"{where}.id"})
    participant_id = str(participant_id)[:MAX_PARTICIPANT_ID]
    _check_text(participant_id, f"{where}.id", MAX_PARTICIPANT_ID)
    return Occupant(occupant_jid=jid, joined_at=joined_at, left_at=left_at, participant_id=participant_id)


def _all_occupants(value: Any) -> tuple[Occupant, ...]:
    # Prosody's JSON encoder writes an empty Lua table as {}: an empty object means nobody.
    if value == {} or value is None:
        return ()
    if not isinstance(value, list):
        raise EventError(_("Field “all_occupants” must be a list."))
    occupants = []
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise EventError(_("Field “all_occupants[%(i)s]” must be an object.") % {"i": i})
        occupants.append(_occupant(item, f"all_occupants[{i}]", needs_left=False))
    return tuple(occupants)
