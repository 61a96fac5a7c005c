"""The live-count websockets through the real ASGI stack (origin check, session auth, routing, consumers)."""

from __future__ import annotations

import asyncio
import gc
import json

import pytest
from channels.db import database_sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.test import Client

from meetings import consumers, live
from meetings import events as ev
from meetings.models import Room
from tests.conftest import require
from tests.factories import RoomFactory
from tests.meetings.prosody import recording

pytestmark = pytest.mark.django_db(transaction=True)

ORIGIN = [(b"origin", b"http://testserver"), (b"host", b"testserver")]


@pytest.fixture
def application(settings):
    settings.ALLOWED_HOSTS = ["testserver"]
    from portal.asgi import application

    return application


@pytest.fixture
def room(tenant, host):
    return RoomFactory(tenant=tenant, owner=host, name="room1", title="Algebra")


def cookie_for(user) -> list[tuple[bytes, bytes]]:
    if user is None:
        return []
    client = Client()
    client.force_login(user)
    return [(b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode())]


def event(name: str, **changes) -> ev.Event:
    rec = recording(name)
    body = rec["body"]
    body.update(changes)
    return ev.parse_payload(rec["request"]["path"].split("/events/", 1)[1], body)


async def record(tenant, name: str, **changes) -> live.Outcome:
    deployment = await database_sync_to_async(lambda: tenant.deployment)()
    return await database_sync_to_async(live.record_event)(
        deployment=deployment, event=event(name, **changes)
    )


def run(coro):
    async def main():
        try:
            return await coro
        finally:
            await consumers.close_hub()
            # Sync code ran in asgiref's executor thread: close its connections so the test DB can be dropped.
            await database_sync_to_async(connections.close_all)()

    return asyncio.run(main())


async def open_socket(application, path: str, user=None) -> tuple[WebsocketCommunicator, bool, object]:
    headers = ORIGIN + await database_sync_to_async(cookie_for)(user)
    communicator = WebsocketCommunicator(application, path, headers=headers)
    connected, detail = await communicator.connect(timeout=5)
    return communicator, connected, detail


async def next_json(communicator: WebsocketCommunicator) -> dict:
    return json.loads(await communicator.receive_from(timeout=5))


def test_member_gets_the_count_on_connect_and_every_change(application, tenant, room, member):
    async def scenario():
        socket, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", member)
        assert connected
        assert await next_json(socket) == {"type": "participants", "room": "room1", "count": 0}
        await record(tenant, "basic-01-muc-room-created.json")  # still 0: nothing sent
        await record(tenant, "basic-02-muc-occupant-joined.json")
        assert await next_json(socket) == {"type": "participants", "room": "room1", "count": 1}
        await record(tenant, "basic-02-muc-occupant-joined.json")  # a duplicate changes nothing
        await record(tenant, "basic-03-muc-occupant-joined.json")
        assert (await next_json(socket))["count"] == 2
        await record(tenant, "basic-06-muc-room-destroyed.json")
        assert (await next_json(socket))["count"] == 0
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario())


def test_count_on_connect_reflects_the_database(application, tenant, room, member):
    async def scenario():
        await record(tenant, "basic-02-muc-occupant-joined.json", active_occupants_count=12)
        socket, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", member)
        assert connected
        assert (await next_json(socket))["count"] == 12
        await socket.disconnect()

    run(scenario())


def test_many_viewers_in_one_process_all_get_the_update(application, tenant, room, member, host):
    async def scenario():
        sockets = []
        for user in (member, host, member):
            socket, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", user)
            assert connected
            assert (await next_json(socket))["count"] == 0
            sockets.append(socket)
        await record(tenant, "basic-02-muc-occupant-joined.json")
        for socket in sockets:
            assert (await next_json(socket))["count"] == 1
        for socket in sockets:
            await socket.disconnect()
        assert consumers.get_hub().rooms == {}  # the last viewer gone: nothing left registered

    run(scenario())


def test_outsider_is_refused(application, tenant, room, outsider):
    async def scenario():
        _, connected, code = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", outsider)
        assert not connected
        assert code == consumers.CLOSE_FORBIDDEN

    run(scenario())


def test_anonymous_is_refused_for_a_members_room(application, tenant, room):
    async def scenario():
        _, connected, code = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/")
        assert not connected
        assert code == consumers.CLOSE_FORBIDDEN

    run(scenario())


def test_anyone_with_the_link_may_watch_a_link_room(application, tenant, host):
    RoomFactory(tenant=tenant, owner=host, name="open-room", access=Room.Access.LINK)

    async def scenario():
        socket, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/open-room/")
        assert connected
        assert (await next_json(socket))["count"] == 0
        await socket.disconnect()

    run(scenario())


def test_another_tenants_room_is_refused(application, tenant, other_tenant, member, outsider):
    RoomFactory(tenant=other_tenant, owner=outsider, name="eth-room")

    async def scenario():
        # Their room under our tenant's path does not exist ...
        _, connected, code = await open_socket(application, f"/ws/{tenant.slug}/rooms/eth-room/", member)
        assert (connected, code) == (False, consumers.CLOSE_NOT_FOUND)
        # ... and under theirs our member may not watch it.
        _, connected, code = await open_socket(
            application, f"/ws/{other_tenant.slug}/rooms/eth-room/", member
        )
        assert (connected, code) == (False, consumers.CLOSE_FORBIDDEN)

    run(scenario())


def test_unknown_room_and_tenant(application, tenant, member):
    async def scenario():
        _, connected, code = await open_socket(application, f"/ws/{tenant.slug}/rooms/nope/", member)
        assert (connected, code) == (False, consumers.CLOSE_NOT_FOUND)
        _, connected, code = await open_socket(application, "/ws/nowhere/rooms/nope/", member)
        assert (connected, code) == (False, consumers.CLOSE_NOT_FOUND)

    run(scenario())


def test_archived_room_is_not_watched(application, tenant, host, member):
    RoomFactory(tenant=tenant, owner=host, name="old-room", archived=True)

    async def scenario():
        _, connected, code = await open_socket(application, f"/ws/{tenant.slug}/rooms/old-room/", member)
        assert (connected, code) == (False, consumers.CLOSE_NOT_FOUND)

    run(scenario())


def test_foreign_origin_is_refused(application, tenant, room, member):
    async def scenario():
        cookie = await database_sync_to_async(cookie_for)(member)
        for origin in (b"https://evil.example", b"http://[testserver", None):
            headers = [(b"host", b"testserver"), *cookie]
            if origin is not None:
                headers.append((b"origin", origin))
            socket = WebsocketCommunicator(application, f"/ws/{tenant.slug}/rooms/room1/", headers=headers)
            connected, _ = await socket.connect(timeout=5)
            assert not connected

    run(scenario())


def test_same_room_name_in_another_tenant_does_not_leak(
    application, tenant, other_tenant, room, member, outsider
):
    RoomFactory(tenant=other_tenant, owner=outsider, name="room1")

    async def scenario():
        socket, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", member)
        assert connected
        assert (await next_json(socket))["count"] == 0
        await record(other_tenant, "basic-02-muc-occupant-joined.json")  # their room1, not ours
        assert await socket.receive_nothing(timeout=0.5)
        await socket.disconnect()

    run(scenario())


def test_dashboard_carries_every_room_of_the_lecturer(application, tenant, host, member):
    RoomFactory(tenant=tenant, owner=host, name="room1")
    RoomFactory(tenant=tenant, owner=host, name="room2")
    RoomFactory(tenant=tenant, owner=member, name="not-hers")
    co_hosted = RoomFactory(tenant=tenant, owner=member, name="room3")
    co_hosted.co_hosts.add(host)

    async def scenario():
        socket, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/dashboard/", host)
        assert connected
        first = [await next_json(socket) for _ in range(3)]
        assert sorted(m["room"] for m in first) == ["room1", "room2", "room3"]
        assert all(m == {"type": "participants", "room": m["room"], "count": 0} for m in first)
        await record(tenant, "basic-02-muc-occupant-joined.json", room_name="room2")
        assert await next_json(socket) == {"type": "participants", "room": "room2", "count": 1}
        await record(tenant, "basic-02-muc-occupant-joined.json", room_name="not-hers")
        assert await socket.receive_nothing(timeout=0.3)
        await socket.disconnect()

    run(scenario())


def test_dashboard_refuses_outsiders_and_anonymous(application, tenant, host, outsider):
    async def scenario():
        _, connected, code = await open_socket(application, f"/ws/{tenant.slug}/dashboard/", outsider)
        assert (connected, code) == (False, consumers.CLOSE_NOT_FOUND)
        _, connected, code = await open_socket(application, f"/ws/{tenant.slug}/dashboard/")
        assert (connected, code) == (False, consumers.CLOSE_FORBIDDEN)

    run(scenario())


def test_hub_coalesces_and_keeps_the_newest():
    """Many updates before a flush: each viewer gets one message with the latest number; stale keys lose."""

    async def scenario():
        hub = consumers.Hub(asyncio.get_running_loop())
        hub._redis_url = ""  # in-process only for this unit
        received: dict[str, list[str]] = {"a": [], "b": []}

        def sender(name):
            async def send(message):
                received[name].append(message["text"])

            return send

        send_a, send_b = sender("a"), sender("b")
        state = await hub.add("chan", "room1", send_a)
        await hub.add("chan", "room1", send_b)
        state.sent = 0
        hub.offer("chan", "room1", (1, 1), 1)
        hub.offer("chan", "room1", (1, 2), 2)
        hub.offer("chan", "room1", (1, 3), 3)
        hub.offer("chan", "room1", (1, 0), 9)  # older key: ignored
        await asyncio.sleep(0.01)
        assert [json.loads(t)["count"] for t in received["a"]] == [3]
        assert received["a"] == received["b"]
        hub.offer("chan", "room1", (2, 0), 3)  # same number from a newer key: nothing to send
        await asyncio.sleep(0.01)
        assert len(received["a"]) == 1
        hub.discard("chan", send_a)
        hub.discard("chan", send_b)
        assert hub.rooms == {}

    asyncio.run(scenario())


@pytest.fixture
def lean_application(settings):
    """The live-count routes without Channels' cookie/session/auth layers (bench/asgi_lean.py)."""
    settings.ALLOWED_HOSTS = ["testserver"]
    from channels.routing import URLRouter
    from channels.security.websocket import AllowedHostsOriginValidator

    from portal.routing import websocket_urlpatterns

    return AllowedHostsOriginValidator(URLRouter(websocket_urlpatterns))


def test_without_auth_middleware_the_cookie_is_read_in_connect(
    lean_application, tenant, room, member, outsider
):
    async def scenario():
        socket, connected, _ = await open_socket(lean_application, f"/ws/{tenant.slug}/rooms/room1/", member)
        assert connected
        assert (await next_json(socket))["count"] == 0
        await socket.disconnect()
        _, connected, code = await open_socket(lean_application, f"/ws/{tenant.slug}/rooms/room1/", outsider)
        assert (connected, code) == (False, consumers.CLOSE_FORBIDDEN)
        _, connected, code = await open_socket(lean_application, f"/ws/{tenant.slug}/rooms/room1/")
        assert (connected, code) == (False, consumers.CLOSE_FORBIDDEN)
        forged = WebsocketCommunicator(
            lean_application,
            f"/ws/{tenant.slug}/rooms/room1/",
            headers=[*ORIGIN, (b"cookie", b"sessionid=not-a-session")],
        )
        assert await forged.connect(timeout=5) == (False, consumers.CLOSE_FORBIDDEN)

    run(scenario())


def test_a_session_from_before_a_password_change_is_refused(lean_application, tenant, room, member):
    headers = cookie_for(member)
    member.set_password("a-new-password-0123")
    member.save()

    async def scenario():
        socket = WebsocketCommunicator(
            lean_application, f"/ws/{tenant.slug}/rooms/room1/", headers=ORIGIN + headers
        )
        assert await socket.connect(timeout=5) == (False, consumers.CLOSE_FORBIDDEN)

    run(scenario())


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536])
def test_prebuilt_frames_follow_rfc6455(size):
    data = consumers._text_frame("x" * size)
    assert data[0] == 0x81  # FIN, text
    assert data[1] & 0x80 == 0  # servers do not mask
    if size < 126:
        assert data[1] == size and len(data) == 2 + size
    elif size < 65536:
        assert data[1] == 126 and int.from_bytes(data[2:4], "big") == size and len(data) == 4 + size
    else:
        assert data[1] == 127 and int.from_bytes(data[2:10], "big") == size and len(data) == 10 + size


def test_other_senders_use_the_ordinary_send():
    async def send(message):
        return None

    from portal.adapters.daphne import raw_connection

    assert raw_connection(send) is None


def test_updates_missed_while_redis_was_away_arrive_after_reconnecting(application, tenant, room, member):
    import os

    import redis

    require(bool(os.environ.get("REDIS_URL")), "REDIS_URL")
    client = redis.Redis.from_url(os.environ["REDIS_URL"])

    async def scenario():
        socket, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", member)
        assert connected
        assert (await next_json(socket))["count"] == 0
        name = f"auditorium-live-{os.getpid()}"
        ours = [c["id"] for c in client.client_list() if c.get("name") == name]
        assert len(ours) == 1
        client.client_kill_filter(_id=ours[0])
        # Published while this process is not subscribed: only the re-read after reconnecting can show it.
        await record(tenant, "basic-02-muc-occupant-joined.json")
        assert await next_json(socket) == {"type": "paused"}  # updates may be missed: the page says so
        assert (await next_json(socket))["count"] == 1
        await socket.disconnect()

    try:
        run(scenario())
    finally:
        client.close()


def test_an_idle_viewer_holds_no_task_of_its_own(application, tenant, room, member):
    """Channels' dispatch loop keeps a receive Task (and asyncio.wait's waiter) per socket; the live-count
    consumers await the server's receive directly, so a viewer is only the server's own application task."""

    async def scenario():
        first, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", member)
        assert connected and (await next_json(first))["count"] == 0
        await asyncio.sleep(0.05)
        before = len(asyncio.all_tasks())  # with the first viewer's and the hub's Redis listener
        sockets = [first]
        for _ in range(5):
            socket, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", member)
            assert connected
            assert (await next_json(socket))["count"] == 0
            sockets.append(socket)
        await asyncio.sleep(0.05)
        assert len(asyncio.all_tasks()) - before == 5  # one application task per socket, nothing else
        await record(tenant, "basic-01-muc-room-created.json")
        await record(tenant, "basic-02-muc-occupant-joined.json")
        for socket in sockets:
            assert (await next_json(socket))["count"] == 1
            await socket.disconnect()

    run(scenario())


def _live_objects(kind: type) -> int:
    """Instances of `kind` alive now (type() rather than isinstance: a LazyObject would set itself up)."""
    gc.collect()
    return sum(1 for o in gc.get_objects() if issubclass(type(o), kind))


def test_an_idle_viewer_keeps_no_cache_or_database_objects_of_its_own(application, tenant, room, member):
    """connect() runs sync code through SyncToAsync, which copies whatever that code set in context-local
    state back into the awaiting task's context, and a socket's context lives as long as the socket.
    Django's cache handler is such a Local: every viewer kept the RedisCache object (and its client) that
    its session and user lookups built. Database connections are thread-local, not per context; they are
    counted too so that none creep in."""
    from django.core.cache.backends.base import BaseCache
    from django.db.backends.base.base import BaseDatabaseWrapper

    async def scenario():
        first, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", member)
        assert connected and (await next_json(first))["count"] == 0
        caches_before, databases_before = _live_objects(BaseCache), _live_objects(BaseDatabaseWrapper)
        sockets = [first]
        for _ in range(10):
            socket, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", member)
            assert connected and (await next_json(socket))["count"] == 0
            sockets.append(socket)
        assert _live_objects(BaseCache) - caches_before == 0
        assert _live_objects(BaseDatabaseWrapper) - databases_before == 0
        await record(tenant, "basic-02-muc-occupant-joined.json")  # the sockets still work
        for socket in sockets:
            assert (await next_json(socket))["count"] == 1
            await socket.disconnect()

    run(scenario())


def test_a_viewer_goes_through_channels_routing_to_the_layerless_loop(application, tenant, room, member):
    """Channels' own origin check and router (public classes) hand the socket to the consumer, whose loop is
    the adapter's: it awaits the server's receive itself (no Task per receive, no asyncio.wait)."""
    from channels.routing import URLRouter
    from channels.security.websocket import OriginValidator

    from portal.adapters.channels import LayerlessConsumer

    async def scenario():
        socket, connected, _ = await open_socket(application, f"/ws/{tenant.slug}/rooms/room1/", member)
        assert connected and (await next_json(socket))["count"] == 0
        chain = []
        coroutine = socket.future.get_coro()
        while coroutine is not None and hasattr(coroutine, "cr_code"):
            chain.append(coroutine.cr_code)
            coroutine = coroutine.cr_await
        assert chain[:2] == [OriginValidator.__call__.__code__, URLRouter.__call__.__code__]
        assert chain[2:4] == [chain[2], LayerlessConsumer.__call__.__code__]  # as_asgi()'s app, then the loop
        assert chain[4:] == [asyncio.Queue.get.__code__]  # the communicator's receive, awaited directly
        await socket.disconnect()

    run(scenario())


def test_a_path_without_a_route_is_refused_at_the_handshake(application, member):
    async def scenario():
        for path in ("/ws/", "/ws/demo/elsewhere/", "/nothing/"):
            socket = WebsocketCommunicator(application, path, headers=ORIGIN)
            assert (await socket.connect(timeout=5))[0] is False

    run(scenario())


def test_http_goes_to_django(application):
    from channels.testing import HttpCommunicator

    async def scenario():
        communicator = HttpCommunicator(application, "GET", "/healthz", headers=ORIGIN)
        assert (await communicator.get_response())["status"] == 200
        await communicator.send_input({"type": "http.disconnect"})  # Django's handler waits for it
        await communicator.wait()

    run(scenario())
