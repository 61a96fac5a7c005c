"""Which room a meeting URL names (nothing else decides), and the recording feature in join tokens."""

from __future__ import annotations

import pytest
from django.utils import timezone

from meetings.joining import JoinTicket, join_room
from meetings.recordings import matching
from tenants import services as tenant_services
from tests.meetings.join_helpers import verify_for_room

pytestmark = pytest.mark.django_db


def test_room_comes_from_host_tenant_path_and_name(room) -> None:
    dep = room.tenant.deployment
    assert matching.room_for(dep, f"{dep.base_url}/{room.name}") == room
    assert matching.room_for(dep, f"{dep.base_url}/{room.name.upper()}?jwt=x#config.a=b") == room
    for url in (
        f"https://evil.example.org/{room.name}",
        f"{dep.base_url}:8443/{room.name}",
        "javascript:alert(1)",
        "",
        "x" * 3000,
    ):
        with pytest.raises(matching.NotThisDeployment):
            matching.room_for(dep, url)
    with pytest.raises(matching.NoSuchRoom):
        matching.room_for(dep, f"{dep.base_url}/other/{room.name}")
    dep.tenant_path = "uzh"
    assert matching.room_for(dep, f"{dep.base_url}/uzh/{room.name}") == room
    with pytest.raises(matching.NotThisDeployment):
        matching.room_for(dep, f"{dep.base_url}/{room.name}")


def _features(room, user) -> dict:
    ticket = join_room(room=room, user=user, now=timezone.now())
    assert isinstance(ticket, JoinTicket)
    return verify_for_room(ticket.jwt, room)["context"]["features"]


def test_recording_feature_only_for_hosts_of_recording_rooms_in_enabled_tenants(room, host, member) -> None:
    assert _features(room, host)["recording"] is True
    assert _features(room, member)["recording"] is False
    tenant_services.change_tenant(actor=None, tenant=room.tenant, recordings_enabled=False)
    room.refresh_from_db()
    assert _features(room, host)["recording"] is False  # explicitly false: Prosody allows a missing key
