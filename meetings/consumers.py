"""Live participant counts over websockets, across server processes.

Design (why not one channel-layer group member per viewer): with plain Channels every viewer owns a channel
in the layer and `group_send` writes one message per viewer into Redis, which each process then reads back one
by one; that measured 295-572 ms p99 for 1,000 viewers and ~30-34 KiB per connection. Here the work per event
is independent of the number of viewers until the very last step:

1. Publish. A service (meetings.live) changes a room's count and, after commit (`transaction.on_commit`),
   calls `publish_count` (meetings/count_publish.py): one Redis `PUBLISH` of a tiny JSON message to the
   room's channel (meetings.groups), tagged with the key (session id, version) that orders updates.
   Without `REDIS_URL` (embedded mode, one process) it is handed to this process's hub directly.
2. Subscribe once per process and room. Each process (each event loop) has one `Hub` with one Redis
   connection in subscriber mode (redis-py's asyncio pub/sub). It SUBSCRIBEs to a room's channel when the
   first local viewer of that room connects and UNSUBSCRIBEs when the last one leaves, so Redis sends each
   update once per interested process.
3. Fan out in process, coalesced. The hub keeps a registry room channel -> set of local consumers. An arriving
   update only records the newest count of the room (older keys are dropped: two processes may publish out of
   commit order) and marks the room dirty; one flush task then sends the latest number, serialised once, to
   every local socket, yielding to the loop every hundred-odd sockets. Under Daphne the websocket frame is
   built once and written to each connection's transport (portal/adapters/daphne.py; LIVE_RAW_FRAMES=0 turns
   that off and sends through Channels/autobahn per socket).
   Updates that arrive while a flush runs are coalesced into the next pass: the latest number wins, and a
   number equal to the one last sent is not sent again.
4. Sockets. The consumers are Channels consumers (authorised in `connect()`) without a channel layer
   (portal/adapters/channels.py, LayerlessConsumer), so an idle viewer costs no layer channel, no receive
   task and no Redis traffic: just the server's connection objects and one registry entry.

Redis down (README, "What happens when Redis is down"): a publish that fails keeps the room's newest count,
published again when Redis answers (meetings/count_publish.py, run by the breaker's probe in
portal/redis_access.py). A hub whose subscription is lost, unconfirmed or silent (a frozen Redis answers
no PING) sends `{"type": "paused"}` to its viewers (the page says "live count paused"), reconnects at least
every second, and on success reads every room's count from the database and sends it: viewers resume by
themselves, no count is lost.

Room sockets: `/ws/<tenant>/rooms/<room>/` sends `{"type": "participants", "room": "<room>", "count": N}` on
connect and on every change. The dashboard socket `/ws/<tenant>/dashboard/` sends the same messages for
every room the signed-in person hosts or co-hosts in that tenant.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import weakref
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.db.models import Q
from django_scopes import scope as tenant_scope

from meetings import count_publish, groups
from meetings.access import may_watch
from meetings.count_publish import ShownCount
from meetings.live import shown_count
from meetings.models import Room
from portal import redis_access
from portal.adapters.channels import LayerlessConsumer
from portal.adapters.daphne import raw_connection, write_now
from portal.async_db import run_sync
from portal.env import env_bool
from tenants.models import Tenant

log = logging.getLogger(__name__)

# Close codes (4000-4999 are the application's): the page's script stops reconnecting on these.
CLOSE_NOT_FOUND = 4404
CLOSE_FORBIDDEN = 4403
DASHBOARD_MAX_ROOMS = 500
_SEND_BATCH = 128  # sockets written between yields to the event loop
# Write pre-built frames straight to Daphne's connections (portal/adapters/daphne.py), on by default: a flush
# to many sockets costs a third of sending through autobahn per socket (README figures, bench/fanout.py).
# Anything unexpected on a connection gets the ordinary send; LIVE_RAW_FRAMES=0 turns it off.
RAW_FRAMES = env_bool("LIVE_RAW_FRAMES", True)

# While the hub's Redis subscription is down, viewers get this frame (the page says "live count paused") and
# the room's count again once it is back. Timings: how long a subscription may take before the hub counts
# Redis as down, how often a silent subscriber connection asks Redis for a PONG, and after how many silent
# periods it gives up on it (a frozen Redis), and the longest pause between reconnection attempts.
PAUSED_FRAME = json.dumps({"type": "paused"}, separators=(",", ":"))
PAUSED = -1  # _RoomState.sent while paused: any count is sent on resume
SUBSCRIBE_WAIT = 1.0
PING_EVERY = 1.0
PINGS_UNANSWERED = 3
RECONNECT_MAX_DELAY = 1.0

Sender = Callable[[dict[str, Any]], Awaitable[None]]
_T = TypeVar("_T")


def frame(room_name: str, count: int) -> str:
    return json.dumps({"type": "participants", "room": room_name, "count": count}, separators=(",", ":"))


# --- local delivery (no Redis: the in-memory layer of `make run`) ---


def _deliver_locally(channel: str, room_name: str, key: tuple[int, int], count: int) -> None:
    for hub in list(_hubs.values()):
        hub.loop.call_soon_threadsafe(hub.offer, channel, room_name, key, count)


count_publish.deliver_locally = _deliver_locally


# --- the per-process hub ---


class _RoomState:
    __slots__ = ("channel", "count", "key", "room_name", "sent", "viewers")

    def __init__(self, channel: str, room_name: str) -> None:
        self.channel = channel  # the registry's key, which the room's viewers share instead of a copy each
        self.room_name = room_name
        # Each viewer's send callable, with the server connection to write pre-built frames to (or None).
        self.viewers: dict[Sender, Any] = {}
        self.key: tuple[int, int] = (-1, -1)
        self.count = 0
        self.sent: int | None = None  # the count last sent to the viewers


class Hub:
    """One per event loop: the Redis subscription and the registry of local viewers per room channel."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.rooms: dict[str, _RoomState] = {}
        self._dirty: dict[str, None] = {}  # ordered set
        self._flushing = False
        self._raw_announced = False
        self._redis_url: str = getattr(settings, "REDIS_URL", "") or ""
        self._pubsub: Any = None  # redis.asyncio PubSub while connected
        self._listener: asyncio.Task[None] | None = None
        self._connected = asyncio.Event()
        self._confirmations: dict[str, list[asyncio.Future[None]]] = {}
        # True while updates may be missed (no confirmed subscription): viewers are told "paused".
        self.paused = False

    # registry

    async def add(self, channel: str, room_name: str, send: Sender) -> _RoomState:
        state = self.rooms.get(channel)
        if state is None:
            state = self.rooms[channel] = _RoomState(channel, room_name)
            if self._redis_url:
                await self._subscribe(channel)
        connection = raw_connection(send) if RAW_FRAMES else None
        if connection is not None and not self._raw_announced:
            self._raw_announced = True
            log.info("live counts: writing pre-built frames to Daphne connections directly")
        state.viewers[send] = connection
        return state

    def discard(self, channel: str, send: Sender) -> None:
        state = self.rooms.get(channel)
        if state is None:
            return
        state.viewers.pop(send, None)
        if not state.viewers:
            del self.rooms[channel]
            self._dirty.pop(channel, None)
            if self._redis_url and self._pubsub is not None:
                self.loop.create_task(self._unsubscribe(channel))

    # updates

    def offer(self, channel: str, room_name: str, key: tuple[int, int], count: int) -> None:
        """A count for a room, from Redis, another thread, or a database read. Newer keys win."""
        state = self.rooms.get(channel)
        if state is None or key <= state.key:
            return
        state.key = key
        state.count = count
        if state.sent is not None and state.sent != count:
            self._dirty[channel] = None
            if not self._flushing:
                self._flushing = True
                self.loop.create_task(self._flush())

    async def _flush(self) -> None:
        try:
            while self._dirty:
                channel = next(iter(self._dirty))
                del self._dirty[channel]
                state = self.rooms.get(channel)
                if state is None or state.sent == state.count:
                    continue
                state.sent = state.count
                text = frame(state.room_name, state.count)
                await self._send(state, {"type": "websocket.send", "text": text}, _text_frame(text))
        finally:
            self._flushing = False

    async def _send(self, state: _RoomState, message: dict[str, Any], data: bytes) -> None:
        for i, (send, connection) in enumerate(list(state.viewers.items()), 1):
            try:
                if connection is None:
                    await send(message)
                elif connection.state == connection.STATE_OPEN:
                    write_now(connection.transport, data)
            except Exception:  # one broken socket must not starve the others
                log.debug("live count send failed", exc_info=True)
            if i % _SEND_BATCH == 0:
                await asyncio.sleep(0)

    # Redis subscriber connection (redis-py's asyncio pub/sub, one connection per process)

    async def _subscribe(self, channel: str) -> None:
        self._ensure_listener()
        if self.paused and not self._connected.is_set():
            return  # subscribed with every other room when Redis answers again
        waiter: asyncio.Future[None] = self.loop.create_future()
        self._confirmations.setdefault(channel, []).append(waiter)
        try:
            await asyncio.wait_for(self._connected.wait(), timeout=SUBSCRIBE_WAIT)
            assert self._pubsub is not None
            await self._pubsub.subscribe(channel)
            # Wait for Redis to confirm, so no update published after our database read can be missed.
            await asyncio.wait_for(asyncio.shield(waiter), timeout=SUBSCRIBE_WAIT)
        except redis_access.ERRORS as exc:  # asyncio.wait_for raises TimeoutError, an OSError
            log.warning("live counts: Redis did not confirm the subscription to %s (%s)", channel, exc)
            self._pause()
            if self._listener is not None:
                self._listener.cancel()  # start over: a fresh connection subscribes to every room

    async def _unsubscribe(self, channel: str) -> None:
        pubsub = self._pubsub
        if pubsub is None or channel in self.rooms:
            return
        with contextlib.suppress(*redis_access.ERRORS):
            await pubsub.unsubscribe(channel)

    def _ensure_listener(self) -> None:
        if self._listener is None or self._listener.done():
            self._listener = self.loop.create_task(self._listen())

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            try:
                await self._run_connection()
            except asyncio.CancelledError:
                if self._closing:
                    raise
                task = asyncio.current_task()
                if task is not None:
                    task.uncancel()  # cancelled by _subscribe to start over, not to stop
            except Exception as exc:
                log.warning("live counts: Redis subscriber connection lost (%s); reconnecting", exc)
            else:
                delay = 0.2
            self._connected.clear()
            self._pubsub = None
            self._pause()
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_DELAY)

    _closing = False

    async def _run_connection(self) -> None:
        # Named so operators (and the tests) can tell the live-count subscribers apart in CLIENT LIST.
        client = redis_access.async_client(self._redis_url, client_name=f"auditorium-live-{os.getpid()}")
        pubsub = client.pubsub()
        try:
            channels = [groups.control_channel(), *self.rooms]
            await pubsub.subscribe(*channels)
            self._pubsub = pubsub
            self._connected.set()
            awaiting = channels[-1]
            added = [channel for channel in self.rooms if channel not in channels]  # while we connected
            if added:
                await pubsub.subscribe(*added)
                awaiting = added[-1]
            silent = 0
            while True:
                message = await pubsub.get_message(timeout=PING_EVERY)
                if message is None:
                    # A frozen Redis says nothing: ask, and give up on it after a few silent periods.
                    silent += 1
                    if silent >= PINGS_UNANSWERED:
                        raise ConnectionError("no answer to PING")
                    await pubsub.ping()
                    continue
                silent = 0
                kind = message["type"]
                if kind == "message":
                    self._on_message(_text(message["channel"]), message["data"])
                elif kind == "subscribe":
                    channel = _text(message["channel"])
                    for waiter in self._confirmations.pop(channel, []):
                        if not waiter.done():
                            waiter.set_result(None)
                    if channel == awaiting:
                        awaiting = ""
                        if self.paused:
                            self.loop.create_task(self._resume())
        finally:
            self._pubsub = None
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            with contextlib.suppress(Exception):
                await client.aclose()

    def _on_message(self, channel: str, data: bytes) -> None:
        try:
            payload = json.loads(data)
            self.offer(channel, payload["room"], (int(payload["s"]), int(payload["v"])), int(payload["c"]))
        except (ValueError, KeyError, TypeError):
            log.warning("live counts: ignored a malformed message on %s", channel)

    def _pause(self) -> None:
        """Updates may be missed from now on: tell every viewer, and send each the count again on resume."""
        if self.paused:
            return
        self.paused = True
        for state in self.rooms.values():
            state.sent = PAUSED
        self.loop.create_task(self._send_all(PAUSED_FRAME))

    async def _resume(self) -> None:
        """Subscribed again: read the counts missed meanwhile, and send each room's count to its viewers."""
        await self._refresh_all()
        if not self._connected.is_set():
            return
        self.paused = False
        for channel, state in self.rooms.items():
            if state.sent != state.count:
                self._dirty[channel] = None
        if self._dirty and not self._flushing:
            self._flushing = True
            self.loop.create_task(self._flush())

    async def _send_all(self, text: str) -> None:
        message = {"type": "websocket.send", "text": text}
        data = _text_frame(text)
        for state in list(self.rooms.values()):
            await self._send(state, message, data)

    async def _refresh_all(self) -> None:
        """After a reconnect, updates may have been missed: read the counts again."""
        for channel, state in list(self.rooms.items()):
            tenant_slug = channel.split(":room:", 1)[1].split(":", 1)[0]
            try:
                shown = await run_sync(_shown_by_name, tenant_slug, state.room_name)
            except Exception:  # the database is down too: the next update or reconnect brings the count
                log.warning("live counts: could not read the count of %s again", channel, exc_info=True)
                continue
            if shown is not None:
                self.offer(channel, state.room_name, shown.key, shown.count)

    async def close(self) -> None:
        self._closing = True
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
        self._listener = None


def _text_frame(text: str) -> bytes:
    """A final, unmasked text frame (RFC 6455 section 5.2) as a server sends it."""
    payload = text.encode()
    size = len(payload)
    if size < 126:
        header = bytes((0x81, size))
    elif size < 65536:
        header = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        header = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return header + payload


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Hub] = weakref.WeakKeyDictionary()


def get_hub() -> Hub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = Hub(loop)
    return hub


async def close_hub() -> None:
    """Stop this loop's subscriber (tests and benchmarks; a server process just exits)."""
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.close()


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


# --- database reads ---


def user_of(scope: dict[str, Any]) -> Any:
    """The signed-in user: from AuthMiddleware when the route runs behind it, else from the session cookie.

    Resolving it here lets the live-count routes run without the session and auth middleware layers, whose
    coroutine frames and scope copies each viewer would otherwise hold for the socket's lifetime."""
    user = scope.get("user")
    if user is not None:
        return user
    from importlib import import_module

    from django.contrib.auth import get_user
    from django.http import HttpRequest
    from django.http.cookie import parse_cookie

    header = b"; ".join(value for name, value in scope.get("headers", ()) if name == b"cookie")
    session_key = parse_cookie(header.decode("latin-1")).get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return AnonymousUser()
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    return get_user(request)  # verifies the session's auth hash, as a request would


def _watchable_room(tenant_slug: str, room_name: str, scope: dict[str, Any]) -> tuple[Room | None, bool]:
    tenant = Tenant.objects.filter(slug=tenant_slug, is_active=True).first()
    if tenant is None:
        return None, False
    with tenant_scope(tenant=tenant):  # the socket's tenant, from its URL
        room = Room.objects.filter(name=room_name, archived=False).select_related("tenant").first()
        if room is None:
            return None, False
        return room, may_watch(user_of(scope), room)


def _shown_by_name(tenant_slug: str, room_name: str) -> ShownCount | None:
    tenant = Tenant.objects.filter(slug=tenant_slug).first()
    if tenant is None:
        return None
    with tenant_scope(tenant=tenant):  # the channel's tenant, from its name
        room = Room.objects.filter(name=room_name).first()
        return shown_count(room) if room is not None else None


def _shown_counts(rooms: list[Room]) -> list[ShownCount]:
    if not rooms:
        return []
    with tenant_scope(tenant=rooms[0].tenant_id):  # the socket's tenant: every room comes from its URL
        return [shown_count(room) for room in rooms]


def _dashboard_rooms(tenant_slug: str, scope: dict[str, Any]) -> tuple[int, list[Room]]:
    """(0, rooms) for a member of the tenant, else (close code, [])."""
    from tenants.access import membership_of

    user = user_of(scope)
    if not getattr(user, "is_authenticated", False):
        return CLOSE_FORBIDDEN, []
    tenant = Tenant.objects.filter(slug=tenant_slug, is_active=True).first()
    if tenant is None or membership_of(user, tenant) is None:
        return CLOSE_NOT_FOUND, []
    with tenant_scope(tenant=tenant):  # the socket's tenant, from its URL
        rooms = (
            Room.objects.of_tenant(tenant)
            .active()
            .filter(Q(owner=user) | Q(co_hosts=user))
            .distinct()
            .order_by("name")[:DASHBOARD_MAX_ROOMS]
        )
        return 0, list(rooms)


# --- consumers ---


class RoomCountConsumer(LayerlessConsumer):
    """`/ws/<tenant>/rooms/<room>/`: the live participant count of one room.

    No layer channel per viewer: updates come through the process hub (see the module docstring); the
    loop awaits the client's messages directly (portal/adapters/channels.py)."""

    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        self.tenant_slug: str = kwargs["tenant"]
        self.room_name: str = kwargs["room"]
        self.channels: list[str] = []
        room, allowed = await run_sync(_watchable_room, self.tenant_slug, self.room_name, self.scope)
        if room is None:
            await self.close(code=CLOSE_NOT_FOUND)
            return
        if not allowed:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.accept()
        await self._watch([room])
        if room.allow_livestreaming:  # "84 in the meeting · 1,250 watching" (meetings/streams/live.py)
            from meetings.streams import live as streams

            hub = streams.get_hub()
            state = await hub.add(self.tenant_slug, room.name, self.fanout_send, watching=False)
            self.stream_channel = state.channel
            if state.sent_total is not None:
                await self.send(text_data=streams.watching_frame(room.name, state.total))

    async def _watch(self, rooms: list[Room]) -> None:
        self.fanout_send: Sender = self.base_send  # the server's own send: no middleware wraps these routes
        hub = get_hub()
        states = []
        # Register first, read second: an update published in between is then not lost.
        for room in rooms:
            channel = groups.room_channel(self.tenant_slug, room.name)
            state = await hub.add(channel, room.name, self.fanout_send)
            self.channels.append(state.channel)
            states.append((state.channel, state))
        shown = await run_sync(_shown_counts, rooms)
        for (channel, state), current in zip(states, shown, strict=True):
            hub.offer(channel, current.room_name, current.key, current.count)
            if state.sent is None:
                state.sent = state.count
            await self.send(text_data=frame(state.room_name, state.count))
        if hub.paused:  # Redis is down: this count may not move until it is back
            await self.send(text_data=PAUSED_FRAME)

    async def disconnect(self, code: int) -> None:
        hub = get_hub()
        send = getattr(self, "fanout_send", None)
        if send is None:
            return  # refused before watching anything
        for channel in self.channels:
            hub.discard(channel, send)
        stream_channel = getattr(self, "stream_channel", None)
        if stream_channel is not None:
            from meetings.streams import live as streams

            streams.get_hub().discard(stream_channel, send)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        return  # viewers only listen


class DashboardConsumer(RoomCountConsumer):
    """`/ws/<tenant>/dashboard/`: the counts of every room the signed-in person hosts there."""

    async def connect(self) -> None:
        self.tenant_slug = self.scope["url_route"]["kwargs"]["tenant"]
        self.channels = []
        refused, rooms = await run_sync(_dashboard_rooms, self.tenant_slug, self.scope)
        if refused:
            await self.close(code=refused)
            return
        await self.accept()
        await self._watch(rooms)
