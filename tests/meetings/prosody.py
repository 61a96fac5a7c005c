"""Recorded Prosody events and room-size answers, kept in tests/fixtures/prosody-events."""

from __future__ import annotations

import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "prosody-events"


def fixtures_dir() -> Path:
    assert FIXTURES.is_dir(), f"the Prosody recordings belong in the repository at {FIXTURES}"
    return FIXTURES


@cache
def _load(name: str) -> dict[str, Any]:
    return json.loads((fixtures_dir() / name).read_text(encoding="utf-8"))


def recording(name: str) -> dict[str, Any]:
    """One recorded POST (path, headers, body, raw_body) or room-size answer, as a fresh copy."""
    return copy.deepcopy(_load(name))


def scenario(prefix: str) -> list[dict[str, Any]]:
    """The recorded POSTs of a scenario (`basic`, `tenant`, `unicode`, `edge`, `userinfo-basic`) in order."""
    index = "userinfo-index.json" if prefix.startswith("userinfo") else "index.json"
    names = [item["file"] for item in _load(index) if item["file"].startswith(f"{prefix}-")]
    assert names, f"no fixtures for scenario {prefix}"
    return [recording(name) for name in names]


def kind_of(rec: dict[str, Any]) -> str:
    """`room/created` from the request path `/jitsi/demo/events/room/created`."""
    return rec["request"]["path"].split("/events/", 1)[1]


def raw(rec: dict[str, Any]) -> bytes:
    return rec["raw_body"].encode("utf-8")


def renamed(rec: dict[str, Any], room_name: str) -> bytes:
    """The recorded body with another room name (for scenarios the recordings describe but do not carry)."""
    body = copy.deepcopy(rec["body"])
    old = body["room_name"]
    body["room_name"] = room_name
    body["room_jid"] = body["room_jid"].replace(old, room_name, 1)
    return json.dumps(body, separators=(",", ":")).encode()


def room_size_answers() -> list[dict[str, Any]]:
    return [recording(p.name) for p in sorted(fixtures_dir().glob("room-size-*.json"))]
