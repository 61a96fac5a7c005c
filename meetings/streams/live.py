"""Stream state and watching counts over the viewers' websockets, across server processes.

Like the participant counts (meetings.consumers), work per event does not grow with the number of viewers
until the last step: each process (each event loop) has one `StreamHub` with one Redis subscriber
connection, which subscribes to a room's stream channel while the process has a socket for that room, and
fans messages out to its local sockets.

- Stream state: the publish callbacks (meetings.streams.services) PUBLISH `{"t": "s", "live": bool}` after
  commit; viewer pages start or stop playing on it.
- Watching count: each process keeps how many viewer pages it holds per room. A change is written at most
  every FLUSH_SECONDS (coalesced) with one Lua script that stores this process's number in the room's Redis
  hash (field: the process, value: "count:unix time"), sums the fresh fields (dropping those of processes
  silent for STALE_SECONDS: a crashed process stops counting) and PUBLISHes the total, all atomically, so
  totals arrive in the order they were computed. Every process refreshes its fields every
  HEARTBEAT_SECONDS. Sockets get the newest total; a total equal to the one last sent is not sent again.

Without REDIS_URL (embedded mode, one process) the hub counts and delivers in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import secrets
import socket
import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

from django.conf import settings

from meetings import groups
from meetings.streams.models import RoomStream
from portal.async_db import run_sync

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.2
HEARTBEAT_SECONDS = 30
STALE_SECONDS = 90
_SEND_BATCH = 128

Sender = Callable[[dict[str, Any]], Awaitable[None]]

_PROCESS = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"

# KEYS[1]: the room's hash; ARGV: process, count, now, stale before, channel, ttl. Returns the total.
_COUNT_SCRIPT = """
if tonumber(ARGV[2]) > 0 then
  redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. ':' .. ARGV[3])
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
local total = 0
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  local value = all[i + 1]
  local sep = string.find(value, ':', 1, true)
  local n = sep and tonumber(string.sub(value, 1, sep - 1)) or nil
  local at = sep and tonumber(string.sub(value, sep + 1)) or nil
  if n and at and at >= tonumber(ARGV[4]) then
    total = total + n
  else
    redis.call('HDEL', KEYS[1], all[i])
  end
end
if #all > 0 then redis.call('EXPIRE', KEYS[1], ARGV[6]) end
redis.call('PUBLISH', ARGV[5], '{"t":"w","n":' .. total .. '}')
return total
"""


def stream_channel(tenant_slug: str, room_name: str) -> str:
    return f"{groups.live_prefix()}:stream:{tenant_slug}:{room_name}"


def watching_key(tenant_slug: str, room_name: str) -> str:
    return f"{groups.live_prefix()}:watching:{tenant_slug}:{room_name}"


def state_frame(room_name: str, live: bool) -> str:
    return json.dumps({"type": "stream", "room": room_name, "live": live}, separators=(",", ":"))


def watching_frame(room_name: str, count: int) -> str:
    return json.dumps({"type": "watching", "room": room_name, "count": count}, separators=(",", ":"))


# --- publishing the stream state (any thread) ---

_redis_lock = threading.Lock()
_redis_client: Any = None


def _sync_redis() -> Any:
    global _redis_client
    if _redis_client is None:
        with _redis_lock:
            if _redis_client is None:
                import redis

                _redis_client = redis.Redis.from_url(
                    settings.REDIS_URL, socket_timeout=2, socket_connect_timeout=2
                )
    return _redis_client


def publish_state(tenant_slug: str, room_name: str, *, live: bool) -> None:
    """Tell every process's viewers of the room that its stream started or ended. Never raises."""
    channel = stream_channel(tenant_slug, room_name)
    if getattr(settings, "REDIS_URL", ""):
        try:
            _sync_redis().publish(channel, json.dumps({"t": "s", "live": live}))
        except Exception:  # the state is committed; pages read it again when they reconnect
            log.exception("could not publish the stream state of %s", channel)
        return
    for hub in list(_hubs.values()):
        hub.loop.call_soon_threadsafe(hub.offer_state, channel, live)


# --- the per-process hub ---


class _Room:
    __slots__ = ("channel", "key", "live", "local", "name", "sent_live", "sent_total", "total", "viewers")

    def __init__(self, channel: str, key: str, name: str) -> None:
        self.channel = channel
        self.key = key
        self.name = name
        self.viewers: dict[Sender, bool] = {}  # send -> counts as watching
        self.local = 0  # watching sockets in this process
        self.total = 0  # the newest total of all processes
        self.sent_total: int | None = None
        self.live: bool | None = None
        self.sent_live: bool | None = None


class StreamHub:
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.rooms: dict[str, _Room] = {}
        self._redis_url: str = getattr(settings, "REDIS_URL", "") or ""
        self._client: Any = None
        self._pubsub: Any = None
        self._listener: asyncio.Task[None] | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._counts_dirty: set[str] = set()
        self._count_flush: asyncio.TimerHandle | None = None
        self._send_dirty: dict[str, None] = {}
        self._sending = False
        self._script: Any = None

    # registry

    async def add(self, tenant_slug: str, room_name: str, send: Sender, *, watching: bool) -> _Room:
        channel = stream_channel(tenant_slug, room_name)
        state = self.rooms.get(channel)
        if state is None:
            state = self.rooms[channel] = _Room(channel, watching_key(tenant_slug, room_name), room_name)
            if self._redis_url:
                await self._subscribe(channel)
        state.viewers[send] = watching
        if watching:
            state.local += 1
            self._count_changed(channel)
        return state

    def discard(self, channel: str, send: Sender) -> None:
        state = self.rooms.get(channel)
        if state is None or send not in state.viewers:
            return
        if state.viewers.pop(send):
            state.local -= 1
            self._count_changed(channel)
        if not state.viewers:
            del self.rooms[channel]
            self._send_dirty.pop(channel, None)
            if self._redis_url and self._pubsub is not None:
                self.loop.create_task(self._unsubscribe(channel))

    # watching counts

    def _count_changed(self, channel: str) -> None:
        self._counts_dirty.add(channel)
        if self._count_flush is None:
            self._count_flush = self.loop.call_later(FLUSH_SECONDS, self._start_count_flush)

    def _start_count_flush(self) -> None:
        self._count_flush = None
        self.loop.create_task(self._flush_counts())

    async def _flush_counts(self, channels: set[str] | None = None) -> None:
        if channels is None:
            channels, self._counts_dirty = self._counts_dirty, set()
        if not self._redis_url:
            totals: dict[str, int] = {}
            for hub in list(_hubs.values()):
                for channel, room in hub.rooms.items():
                    totals[channel] = totals.get(channel, 0) + room.local
            for hub in list(_hubs.values()):
                for channel in channels:
                    hub.loop.call_soon_threadsafe(hub.offer_total, channel, totals.get(channel, 0))
            return
        for channel in channels:
            state = self.rooms.get(channel)
            # A room whose last socket left still needs its number removed from Redis.
            local = state.local if state is not None else 0
            key = state.key if state is not None else channel.replace(":stream:", ":watching:", 1)
            now = int(time.time())
            try:
                await self._client.evalsha_or_eval(
                    key, _PROCESS, local, now, now - STALE_SECONDS, channel, STALE_SECONDS * 2
                )
            except Exception as exc:  # Redis away: the counts come back with the heartbeat or the next change
                log.warning("watching counts: could not store the count of %s (%s)", channel, exc)

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self._flush_counts({c for c, s in self.rooms.items() if s.local})

    # delivery

    def offer_total(self, channel: str, total: int) -> None:
        state = self.rooms.get(channel)
        if state is None:
            return
        state.total = total
        if state.sent_total != total:
            self._mark(channel)

    def offer_state(self, channel: str, live: bool) -> None:
        state = self.rooms.get(channel)
        if state is None:
            return
        state.live = live
        if state.sent_live is not None and state.sent_live != live:
            self._mark(channel)

    def _mark(self, channel: str) -> None:
        self._send_dirty[channel] = None
        if not self._sending:
            self._sending = True
            self.loop.create_task(self._send())

    async def _send(self) -> None:
        try:
            while self._send_dirty:
                channel = next(iter(self._send_dirty))
                del self._send_dirty[channel]
                state = self.rooms.get(channel)
                if state is None:
                    continue
                texts = []
                if state.live is not None and state.sent_live is not None and state.live != state.sent_live:
                    state.sent_live = state.live
                    texts.append(state_frame(state.name, state.live))
                if state.sent_total != state.total:
                    state.sent_total = state.total
                    texts.append(watching_frame(state.name, state.total))
                for text in texts:
                    message = {"type": "websocket.send", "text": text}
                    for i, send in enumerate(list(state.viewers), 1):
                        try:
                            await send(message)
                        except Exception:  # one broken socket must not starve the others
                            log.debug("stream message send failed", exc_info=True)
                        if i % _SEND_BATCH == 0:
                            await asyncio.sleep(0)
        finally:
            self._sending = False

    # Redis

    async def _ensure_client(self) -> None:
        if self._client is None:
            import redis.asyncio as aioredis

            self._client = _Client(aioredis.Redis.from_url(self._redis_url, socket_connect_timeout=2))
        if self._listener is None or self._listener.done():
            self._pubsub = self._client.redis.pubsub(ignore_subscribe_messages=True)
            await self._pubsub.subscribe(groups.control_channel())
            self._listener = self.loop.create_task(self._listen())
        if self._heartbeat is None or self._heartbeat.done():
            self._heartbeat = self.loop.create_task(self._beat())

    async def _subscribe(self, channel: str) -> None:
        try:
            await self._ensure_client()
            await self._pubsub.subscribe(channel)
        except Exception as exc:
            log.warning("stream hub: could not subscribe to %s (%s)", channel, exc)

    async def _unsubscribe(self, channel: str) -> None:
        with contextlib.suppress(Exception):
            if channel not in self.rooms:
                await self._pubsub.unsubscribe(channel)

    async def _listen(self) -> None:
        delay = 0.2
        while True:
            try:
                async for message in self._pubsub.listen():
                    delay = 0.2
                    if message.get("type") == "message":
                        self._on_message(message["channel"].decode(), message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("stream hub: Redis subscriber connection lost (%s); reconnecting", exc)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 5.0)
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = self._client.redis.pubsub(ignore_subscribe_messages=True)
            with contextlib.suppress(Exception):
                await self._pubsub.subscribe(groups.control_channel(), *self.rooms)
                # Missed while away: the counts are stored again (and published); states are read again.
                await self._flush_counts(set(self.rooms))
                await self._refresh_states()

    async def _refresh_states(self) -> None:
        states = await live_states(list(self.rooms))
        for channel, live in states.items():
            self.offer_state(channel, live)

    def _on_message(self, channel: str, data: bytes) -> None:
        try:
            payload = json.loads(data)
            if payload["t"] == "w":
                self.offer_total(channel, int(payload["n"]))
            elif payload["t"] == "s":
                self.offer_state(channel, bool(payload["live"]))
        except (ValueError, KeyError, TypeError):
            log.warning("stream hub: ignored a malformed message on %s", channel)

    async def close(self) -> None:
        for task in (self._listener, self._heartbeat):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
        if self._client is not None:
            with contextlib.suppress(Exception):
                await self._client.redis.aclose()
        self._listener = self._heartbeat = None


class _Client:
    """The async Redis client and the counting script (loaded once, run by its digest)."""

    def __init__(self, redis: Any) -> None:
        self.redis = redis
        self.script = redis.register_script(_COUNT_SCRIPT)

    async def evalsha_or_eval(self, key: str, *args: Any) -> Any:
        return await self.script(keys=[key], args=list(args))


_hubs: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, StreamHub] = weakref.WeakKeyDictionary()


def get_hub() -> StreamHub:
    loop = asyncio.get_running_loop()
    hub = _hubs.get(loop)
    if hub is None:
        hub = _hubs[loop] = StreamHub(loop)
    return hub


async def close_hub() -> None:
    hub = _hubs.pop(asyncio.get_running_loop(), None)
    if hub is not None:
        await hub.close()


# --- stream states (read again after a Redis outage) ---


def _states(channels: list[str]) -> dict[str, bool]:
    wanted = {}
    for channel in channels:
        tenant_slug, room_name = channel.split(":stream:", 1)[1].split(":", 1)
        wanted[(tenant_slug, room_name)] = channel
    rows = RoomStream.objects.filter(
        room__name__in={name for _, name in wanted}, tenant__slug__in={slug for slug, _ in wanted}
    ).values_list("tenant__slug", "room__name", "live_since")
    return {wanted[(s, n)]: since is not None for s, n, since in rows if (s, n) in wanted}


async def live_states(channels: list[str]) -> dict[str, bool]:
    return await run_sync(_states, channels)
