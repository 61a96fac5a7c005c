"""End to end over real sockets: two Daphne processes on one PostgreSQL and one Redis.

A viewer's websocket is held by the first process; Prosody's events are posted to the second; the update must
arrive. Runs against pytest-django's test database, which the server processes share (transactional test).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import urllib.request

import pytest
from django.test import Client
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from meetings.models import MeetingSession
from tests.conftest import require
from tests.factories import MembershipFactory, RoomFactory, TenantFactory, UserFactory
from tests.meetings.prosody import raw, scenario
from tests.meetings.servers import daphne_servers

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


def post_event(base: str, rec: dict, secret: str) -> int:
    request = urllib.request.Request(  # noqa: S310 - a local test server
        base + rec["request"]["path"],
        data=raw(rec),
        headers={
            "Content-Type": "application/json",
            "User-Agent": "Prosody (0.12.3; posix)",
            "Authorization": f"Bearer {secret}",
        },
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        return response.status


@pytest.mark.parametrize("raw_frames", ["0", "1"], ids=["send", "raw-frames"])
def test_event_on_one_process_reaches_a_socket_on_another(tmp_path, raw_frames):
    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL for the shared channel layer")
    require(os.environ.get("DATABASE_URL", "").startswith("postgres"), "PostgreSQL in DATABASE_URL")
    demo = TenantFactory(slug="demo", name="Demo University")
    RoomFactory(tenant=demo, name="room1", title="Algebra")
    viewer = MembershipFactory(tenant=demo, user=UserFactory(username="viewer")).user
    client = Client()
    client.force_login(viewer)
    session_id = client.cookies["sessionid"].value
    secret = demo.deployment.event_secret
    basic = scenario("basic")

    with daphne_servers(2, tmp_path, LIVE_RAW_FRAMES=raw_frames, LOG_LEVEL="INFO") as (first, second):

        async def watch() -> list[tuple[float, dict]]:
            received: list[tuple[float, dict]] = []
            async with connect(
                f"{first.ws}/ws/demo/rooms/room1/",
                origin=first.http,  # type: ignore[arg-type]
                additional_headers={"Cookie": f"sessionid={session_id}"},
                open_timeout=10,
            ) as socket:
                received.append((time.monotonic(), json.loads(await asyncio.wait_for(socket.recv(), 10))))
                for rec, expected in zip(basic, [None, 1, 2, 1, 0, None], strict=True):
                    posted_at = time.monotonic()
                    status = await asyncio.to_thread(post_event, second.http, rec, secret)
                    assert status == 200
                    if expected is None:
                        continue
                    message = json.loads(await asyncio.wait_for(socket.recv(), 10))
                    received.append((time.monotonic() - posted_at, message))
                    assert message == {"type": "participants", "room": "room1", "count": expected}
            return received

        received = asyncio.run(watch())

        # An outsider's socket on the second process is refused during the handshake.
        async def outsider() -> int:
            with pytest.raises(InvalidStatus) as refused:
                async with connect(f"{second.ws}/ws/demo/rooms/room1/", origin=second.http):  # type: ignore[arg-type]
                    pass
            return refused.value.response.status_code

        assert asyncio.run(outsider()) == 403
    assert received[0][1] == {"type": "participants", "room": "room1", "count": 0}
    announced = "writing pre-built frames to Daphne connections" in first.log.read_text()
    assert announced == (raw_frames == "1")
    # Delivery across processes is quick (generous bound for a loaded shared machine).
    assert max(delay for delay, _ in received[1:]) < 3.0


def test_a_rotated_event_secret_counts_at_once_in_every_process(tmp_path):
    """Both server processes have the deployment cached when a third (here: the test) rotates its event
    secret: from the next event on both refuse the old secret and accept the new one."""
    import urllib.error

    from tenants.services import rotate_event_secret

    require(os.environ.get("DATABASE_URL", "").startswith("postgres"), "PostgreSQL in DATABASE_URL")
    demo = TenantFactory(slug="demo", name="Demo University")
    RoomFactory(tenant=demo, name="room1", title="Algebra")
    old_secret = demo.deployment.event_secret
    created, joined, second_join = scenario("basic")[:3]

    def status(base: str, rec: dict, secret: str) -> int:
        try:
            return post_event(base, rec, secret)
        except urllib.error.HTTPError as refused:
            return refused.code

    with daphne_servers(2, tmp_path) as servers:
        for server in servers:
            assert status(server.http, created, old_secret) == 200  # each process caches the deployment
        new_secret = rotate_event_secret(actor=None, tenant=demo)
        for server in servers:
            assert status(server.http, joined, old_secret) == 401
        assert status(servers[0].http, joined, new_secret) == 200
        assert status(servers[1].http, second_join, new_secret) == 200
    assert MeetingSession.objects.get().current_count == 2
