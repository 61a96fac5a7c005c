"""Parsing Prosody's event bodies (pure functions): every recorded shape, and the bad ones."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from meetings import events as ev
from tests.meetings.prosody import kind_of, raw, recording, scenario

ALL = ["basic", "tenant", "unicode", "edge", "userinfo-basic"]


@pytest.mark.parametrize("prefix", ALL)
def test_every_recorded_event_parses(prefix):
    for rec in scenario(prefix):
        event = ev.parse_event(kind_of(rec), raw(rec))
        assert ev.EVENT_NAMES[kind_of(rec)] == rec["body"]["event_name"]
        assert event.room.room_name == rec["body"]["room_name"]


def test_joined_fields():
    event = ev.parse_event("occupant/joined", raw(recording("basic-02-muc-occupant-joined.json")))
    assert isinstance(event, ev.OccupantJoined)
    assert event.active_occupants_count == 1
    assert event.occupant.occupant_jid == "05c3bf0f-6615-477f-92aa-e242e0b1e434@meet.test/harness-f5bef4e8"
    assert event.occupant.joined_at == datetime.fromtimestamp(1795467222, tz=UTC)
    assert event.occupant.left_at is None
    assert event.occupant.participant_id == "alice-0001"


def test_occupant_without_context_user_has_no_id():
    event = ev.parse_event("occupant/joined", raw(recording("edge-02-muc-occupant-joined.json")))
    assert isinstance(event, ev.OccupantJoined)
    assert event.occupant.participant_id == ""


def test_left_carries_left_at():
    event = ev.parse_event("occupant/left", raw(recording("basic-04-muc-occupant-left.json")))
    assert isinstance(event, ev.OccupantLeft)
    assert event.occupant.left_at == datetime.fromtimestamp(1795467225, tz=UTC)
    assert event.active_occupants_count == 1


def test_destroyed_with_empty_object_means_nobody():
    event = ev.parse_event("room/destroyed", raw(recording("edge-06-muc-room-destroyed.json")))
    assert isinstance(event, ev.RoomDestroyed)
    assert event.all_occupants == ()
    assert event.destroyed_at == datetime.fromtimestamp(1795467239, tz=UTC)


def test_destroyed_lists_everyone():
    event = ev.parse_event("room/destroyed", raw(recording("basic-06-muc-room-destroyed.json")))
    assert isinstance(event, ev.RoomDestroyed)
    assert len(event.all_occupants) == 2
    assert {o.participant_id for o in event.all_occupants} == {"alice-0001", "bob-0002"}
    assert event.created_at == datetime.fromtimestamp(1795467221, tz=UTC)


def test_tenant_path_room_keeps_internal_form():
    event = ev.parse_event("room/created", raw(recording("tenant-01-muc-room-created.json")))
    assert event.room.room_name == "[acme]room2"
    assert event.room.tenant_segment == "acme"
    assert event.room.node == "room2"


def test_non_ascii_room_stays_percent_encoded():
    event = ev.parse_event("occupant/joined", raw(recording("unicode-02-muc-occupant-joined.json")))
    assert event.room.room_name == "m%c3%bcller"
    assert event.room.node == "m%c3%bcller"


def test_userinfo_extra_keys_are_accepted():
    event = ev.parse_event("occupant/joined", raw(recording("userinfo-basic-02-muc-occupant-joined.json")))
    assert isinstance(event, ev.OccupantJoined)
    assert event.occupant.participant_id == "alice-0001"


def _body(name: str) -> dict:
    return recording(name)["body"]


def _err(kind: str, data: object) -> str:
    with pytest.raises(ev.EventError) as info:
        ev.parse_event(kind, json.dumps(data).encode() if not isinstance(data, bytes) else data)
    return str(info.value)


def test_not_json():
    assert "not valid JSON" in _err("room/created", b"{not json")
    assert "not valid JSON" in _err("room/created", b"\xff\xfe")


def test_not_an_object():
    assert "JSON object" in _err("room/created", [1, 2])


def test_missing_room_name():
    body = _body("basic-01-muc-room-created.json")
    del body["room_name"]
    assert "room_name" in _err("room/created", body)


def test_missing_created_at():
    body = _body("basic-01-muc-room-created.json")
    del body["created_at"]
    assert "created_at" in _err("room/created", body)


def test_missing_occupant():
    body = _body("basic-02-muc-occupant-joined.json")
    del body["occupant"]
    assert "occupant" in _err("occupant/joined", body)


def test_missing_occupant_jid():
    body = _body("basic-02-muc-occupant-joined.json")
    del body["occupant"]["occupant_jid"]
    assert "occupant.occupant_jid" in _err("occupant/joined", body)


def test_left_without_left_at():
    body = _body("basic-04-muc-occupant-left.json")
    del body["occupant"]["left_at"]
    assert "occupant.left_at" in _err("occupant/left", body)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("created_at", "1795467221", "Unix seconds"),
        ("created_at", True, "Unix seconds"),
        ("created_at", 12, "plausible"),
        ("room_name", 5, "non-empty string"),
        ("room_name", "", "non-empty string"),
        ("room_name", "a@b", "MUC room name"),
        ("is_breakout", "no", "true or false"),
        ("room_jid", 7, "room_jid"),
    ],
)
def test_wrong_types_in_created(field, value, message):
    body = _body("basic-01-muc-room-created.json")
    body[field] = value
    assert message in _err("room/created", body)


@pytest.mark.parametrize(
    ("value", "message"),
    [(-1, "from 0 to"), ("2", "from 0 to"), (1.5, "from 0 to"), (True, "from 0 to"), (2**31, "from 0 to")],
)
def test_wrong_count(value, message):
    body = _body("basic-02-muc-occupant-joined.json")
    body["active_occupants_count"] = value
    assert message in _err("occupant/joined", body)


def test_left_before_joined_is_refused():
    body = _body("basic-04-muc-occupant-left.json")
    body["occupant"]["left_at"] = body["occupant"]["joined_at"] - 5
    assert "before joining" in _err("occupant/left", body)


def test_all_occupants_wrong_shape():
    body = _body("basic-06-muc-room-destroyed.json")
    body["all_occupants"] = "everyone"
    assert "all_occupants" in _err("room/destroyed", body)
    body["all_occupants"] = [1]
    assert "all_occupants[0]" in _err("room/destroyed", body)
    body["all_occupants"] = {"a": 1}
    assert "all_occupants" in _err("room/destroyed", body)


def test_event_name_must_match_path():
    body = _body("basic-01-muc-room-created.json")
    assert "does not belong" in _err("room/destroyed", body)


def test_unknown_kind():
    assert "Unknown event path" in _err("room/exploded", {})
