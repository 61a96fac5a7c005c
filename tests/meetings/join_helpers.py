"""Helpers shared by the join tests."""

from __future__ import annotations

import json
import re
from typing import Any

from django.http import HttpResponse

from meetings.access import set_access_code
from meetings.models import Room
from tests.meetings.prosody_rules import verify_like_prosody

_OPTIONS = re.compile(r'<script id="jitsi-options" type="application/json">(.*?)</script>', re.S)


def meeting_options(response: HttpResponse) -> dict[str, Any]:
    """The JitsiMeetExternalAPI options the meeting page hands to meeting.js."""
    found = _OPTIONS.search(response.content.decode())
    assert found, "not a meeting page"
    return json.loads(found.group(1))


def verify_for_room(token: str, room: Room) -> dict[str, Any]:
    dep = room.tenant.deployment
    return verify_like_prosody(
        token,
        key=dep.app_secret,
        algorithm=dep.algorithm,
        app_id=dep.app_id,
        audience=dep.audience,
        sub=dep.sub,
        room=room.name,
    )


def with_code(room: Room, code: str) -> Room:
    set_access_code(room, code)
    room.save(update_fields=["access_code_hash"])
    return room
