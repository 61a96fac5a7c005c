"""Hostile Prosody event bodies answer 400 with the reason (CONTRACTS.md §2: Prosody does not retry a 4xx),
through the endpoint on PostgreSQL: nesting, huge integers, counts past the database's integer, NUL,
control characters and lone surrogates in the strings that are kept, and lengths. The recorded payloads
are the base shape; nothing of a refused body is recorded."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest

from meetings import event_views
from meetings.models import MeetingSession, Occupancy
from tests.factories import RoomFactory, TenantFactory
from tests.meetings.prosody import raw, recording

# Every test here runs through both implementations of the count rules (tests/meetings/conftest.py).
pytestmark = pytest.mark.usefixtures("count_path")

SECRET = "event-secret-of-demo-0123456789"
CREATED = "basic-01-muc-room-created.json"
JOINED = "basic-02-muc-occupant-joined.json"
DESTROYED = "basic-06-muc-room-destroyed.json"


@pytest.fixture(autouse=True)
def _fresh_cache():
    event_views.forget_deployments()
    yield
    event_views.forget_deployments()


@pytest.fixture
def demo(db):
    tenant = TenantFactory(slug="demo", name="Demo University")
    RoomFactory(tenant=tenant, name="room1")
    return tenant


def _post(client: Any, name: str, body: bytes) -> Any:
    return client.post(
        recording(name)["request"]["path"],
        data=body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {SECRET}"},
    )


def _changed(name: str, change: Callable[[dict[str, Any]], None]) -> bytes:
    body = copy.deepcopy(recording(name)["body"])
    change(body)
    return json.dumps(body).encode()  # lone surrogates and NUL go as JSON escapes, as a sender would write


def _set(*path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(body: dict[str, Any]) -> None:
        target = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return change


HOSTILE: list[tuple[str, str, Callable[[], bytes], str]] = [
    ("nested", JOINED, lambda: b"[" * 100_000, "nested too deeply"),
    ("nested object", JOINED, lambda: b'{"a":' * 50_000, "nested too deeply"),
    (
        "5000-digit count",
        JOINED,
        lambda: raw(recording(JOINED)).replace(
            b'"active_occupants_count":1', b'"active_occupants_count":' + b"9" * 5000
        ),
        "too many digits",
    ),
    ("5000-digit unknown field", JOINED, lambda: b'{"x":' + b"1" * 5000 + b"}", "too many digits"),
    (
        "count 2**31",
        JOINED,
        lambda: _changed(JOINED, _set("active_occupants_count", value=2**31)),
        "from 0 to",
    ),
    (
        "count 10**30",
        JOINED,
        lambda: _changed(JOINED, _set("active_occupants_count", value=10**30)),
        "from 0 to",
    ),
    (
        "NUL in room_name",
        JOINED,
        lambda: _changed(JOINED, _set("room_name", value="room\x001")),
        "not allowed",
    ),
    (
        "surrogate in room_name",
        CREATED,
        lambda: _changed(CREATED, _set("room_name", value="r\ud800")),
        "not allowed",
    ),
    ("C1 in room_name", CREATED, lambda: _changed(CREATED, _set("room_name", value="r\x85")), "not allowed"),
    (
        "newline in room_name",
        CREATED,
        lambda: _changed(CREATED, _set("room_name", value="r\n1")),
        "single line",
    ),
    ("NUL in room_jid", CREATED, lambda: _changed(CREATED, _set("room_jid", value="r\x00@x")), "not allowed"),
    (
        "NUL in occupant_jid",
        JOINED,
        lambda: _changed(JOINED, _set("occupant", "occupant_jid", value="a\x00@meet.test/x")),
        "not allowed",
    ),
    (
        "surrogate in occupant_jid",
        JOINED,
        lambda: _changed(JOINED, _set("occupant", "occupant_jid", value="a\udfff@meet.test/x")),
        "not allowed",
    ),
    (
        "NUL in occupant id",
        JOINED,
        lambda: _changed(JOINED, _set("occupant", "id", value="alice\x00")),
        "not allowed",
    ),
    (
        "surrogate in a destroyed room's occupant",
        DESTROYED,
        lambda: _changed(
            DESTROYED, _set("all_occupants", value=[{"occupant_jid": "\ud800", "joined_at": 1795467222}])
        ),
        "not allowed",
    ),
    ("long room_jid", CREATED, lambda: _changed(CREATED, _set("room_jid", value="r" * 601)), "too long"),
    ("long room_name", CREATED, lambda: _changed(CREATED, _set("room_name", value="r" * 301)), "too long"),
    ("infinite time", CREATED, lambda: raw(recording(CREATED)).replace(b"1795467221", b"1e999"), "plausible"),
]


@pytest.mark.parametrize(("label", "name", "body", "message"), HOSTILE, ids=[h[0] for h in HOSTILE])
def test_hostile_bodies_answer_400_with_the_reason(demo, client, label, name, body, message):
    response = _post(client, name, body())
    assert response.status_code == 400, (label, response.status_code, response.content[:300])
    assert message in response.json()["error"], response.json()
    assert not MeetingSession.objects.exists() and not Occupancy.objects.exists()


def test_strings_that_are_not_kept_may_hold_anything(demo, client):
    """The display name and e-mail are not stored (meetings.models.Occupancy): a surrogate there costs
    nothing, and refusing would lose a real join."""
    body = _changed(JOINED, _set("occupant", "name", value="Al\ud800ice\x00\n"))
    response = _post(client, JOINED, body)
    assert response.status_code == 200, response.content
    assert MeetingSession.objects.get().current_count == 1
