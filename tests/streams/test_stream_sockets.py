"""The viewer page's websocket: the stream's state, the watching count and the meeting's count."""

from __future__ import annotations

import asyncio
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from meetings import consumers
from meetings.streams import live, services
from meetings.streams.services import PublishRequest
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


@pytest.fixture
def application(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    from portal.asgi import application

    return application


@pytest.fixture
def stream(tenant, host):
    room = RoomFactory(tenant=tenant, owner=host, name="algebra", allow_livestreaming=True)
    return services.enable_stream(actor=host, room=room)


def cookie_for(user) -> list[tuple[bytes, bytes]]:
    if user is None:
        return []
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


async def open_socket(application, user, path="/ws/uzh/rooms/algebra/live/"):
    headers = ORIGIN + await database_sync_to_async(cookie_for)(user)
    socket = WebsocketCommunicator(application, path, headers=headers)
    connected, code = await socket.connect(timeout=5)
    return socket, connected, code


async def until(socket, kind: str, **expected) -> dict:
    """The next message of that type with those values (others of the kind may come first)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while True:
        message = json.loads(await socket.receive_from(timeout=max(0.1, deadline - loop.time())))
        if message["type"] == kind and all(message.get(k) == v for k, v in expected.items()):
            return message


def run(coro):
    async def main():
        try:
            return await coro
        finally:
            await live.close_hub()
            await consumers.close_hub()
            await database_sync_to_async(connections.close_all)()

    return asyncio.run(main())


def test_viewers_get_state_counts_and_the_start(application, stream, member, host):
    async def scenario():
        first, connected, _ = await open_socket(application, member)
        assert connected
        assert await until(first, "participants") == {"type": "participants", "room": "algebra", "count": 0}
        assert await until(first, "stream") == {"type": "stream", "room": "algebra", "live": False}
        await until(first, "watching", count=1)
        second, connected, _ = await open_socket(application, host)
        assert connected
        await until(first, "watching", count=2)
        await until(second, "watching", count=2)

        publish = PublishRequest(path=stream.path, secret=stream.secret)
        await database_sync_to_async(services.start_publishing)(request=publish)
        assert (await until(first, "stream"))["live"] is True
        assert (await until(second, "stream"))["live"] is True

        await second.disconnect()
        await until(first, "watching", count=1)
        await database_sync_to_async(services.end_publishing)(request=publish)
        assert (await until(first, "stream"))["live"] is False
        await first.disconnect()

    run(scenario())


def test_outsiders_and_rooms_without_a_stream_are_refused(application, stream, outsider, tenant, host):
    RoomFactory(tenant=tenant, owner=host, name="plain", allow_livestreaming=True)

    async def scenario():
        _, connected, code = await open_socket(application, outsider)
        assert not connected and code == consumers.CLOSE_FORBIDDEN
        _, connected, code = await open_socket(application, None)
        assert not connected and code == consumers.CLOSE_FORBIDDEN
        _, connected, code = await open_socket(application, host, "/ws/uzh/rooms/plain/live/")
        assert not connected and code == consumers.CLOSE_NOT_FOUND

    run(scenario())


def test_the_rooms_own_count_socket_also_says_how_many_watch(application, stream, member, host):
    async def scenario():
        room_socket, connected, _ = await open_socket(application, host, "/ws/uzh/rooms/algebra/")
        assert connected
        assert await until(room_socket, "participants") == {
            "type": "participants",
            "room": "algebra",
            "count": 0,
        }
        viewer, connected, _ = await open_socket(application, member)
        assert connected
        await until(room_socket, "watching", count=1)  # the room page does not count as watching itself
        await viewer.disconnect()
        await until(room_socket, "watching", count=0)
        await room_socket.disconnect()

    run(scenario())
