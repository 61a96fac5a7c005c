"""Django's cache on Redis through portal.redis_access (redis-py's public API), with a per-process fallback.

Every operation is one Redis round trip, as before: plain commands, MGET/MSET pipelines, and Lua scripts
for the rate-limit counters (`hit`, `take`, `give_back`) so that a counter never lives without its expiry.

While Redis is down or slow (a failed call trips the breaker in portal/redis_access.py) each operation
answers from this process instead, and nothing raises:

- Copies of database rows (sessions of cached_db, hot-cache generation tokens, branding) are kept here for
  at most REDIS_FALLBACK_TTL seconds (default 5): other processes' changes are seen within that time.
- Counters (keys starting with one of COUNTER_PREFIXES) keep their full windows, counted per process: rate
  limits stay on, at the configured rate per process (README: "What happens when Redis is down").
- Every key written (or deleted) aside is remembered; when Redis answers again the probe deletes those keys
  in Redis before anyone reads it, so no process reads a value that changed during the outage (a session
  that logged out, a token replaced). At most FALLBACK_DIRTY_LIMIT keys are remembered; past that the
  probe also flushes the hot-cache tokens (every process then reloads its copies) and says so in the log.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

import redis
from django.conf import settings
from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.core.cache.backends.locmem import LocMemCache
from django.core.cache.backends.redis import RedisSerializer
from redis.exceptions import NoScriptError

from portal import redis_access
from portal.redis_access import ERRORS, RedisDown

# Unprefixed keys that are counters, not copies: they keep their own expiry in the fallback.
COUNTER_PREFIXES = ("ratelimit:", "rate_", "code-attempts:", "throttle_")
FALLBACK_DIRTY_LIMIT = 100_000

# One hit on a fixed window that starts with its first hit (KEYS[1], ARGV[1] seconds), and the values of the
# other keys: one command instead of a pipeline of four (INCR, EXPIRE NX, TTL, MGET).
_HIT = """
local n = redis.call('INCR', KEYS[1])
local ttl = redis.call('TTL', KEYS[1])
if ttl < 0 then
  redis.call('EXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
if #KEYS > 1 then
  return {n, ttl, redis.call('MGET', unpack(KEYS, 2))}
end
return {n, ttl}
"""

# take(): one from each counter (KEYS[i], at most ARGV[2i-1] in a window of ARGV[2i] seconds that starts with
# its first take), all or none. Answers -1 when taken, else the milliseconds until the first full window ends.
_TAKE = """
for i = 1, #KEYS do
  local n = tonumber(redis.call('GET', KEYS[i]) or '0')
  if n >= tonumber(ARGV[2 * i - 1]) then
    local ms = redis.call('PTTL', KEYS[i])
    if ms < 0 then
      ms = tonumber(ARGV[2 * i]) * 1000
      redis.call('PEXPIRE', KEYS[i], ms)
    end
    return ms
  end
end
for i = 1, #KEYS do
  redis.call('INCR', KEYS[i])
  if redis.call('PTTL', KEYS[i]) < 0 then
    redis.call('PEXPIRE', KEYS[i], tonumber(ARGV[2 * i]) * 1000)
  end
end
return -1
"""
# give_back(): undo one take() on each key that still counts (never below zero, never reviving a window).
_GIVE_BACK = """
for i = 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then
    redis.call('DECR', KEYS[i])
  end
end
return 0
"""


def fallback_ttl() -> float:
    return float(getattr(settings, "REDIS_FALLBACK_TTL", 5))


class _Server:
    """What every cache object of this process shares for one Redis URL: the client and its scripts, the
    breaker, the fallback store and the keys written aside."""

    def __init__(self, url: str, key_prefix: str) -> None:
        self.url = url
        self.client = redis_access.client(url)
        self.breaker = redis_access.breaker(url)
        self.scripts = {src: self.client.register_script(src) for src in (_HIT, _TAKE, _GIVE_BACK)}
        self.local = LocMemCache(
            f"redis-fallback:{url}", {"TIMEOUT": None, "OPTIONS": {"MAX_ENTRIES": 50_000}}
        )
        self.lock = threading.Lock()  # counters of the fallback: read and write as one step
        self.dirty: set[str] = set()
        self.overflowed = False
        self.threads = threading.local()
        self.epoch = 0  # counts failures: a thread's own connection made before the last one is not trusted
        self.breaker.on_recovery(self.replay)
        self.breaker.on_trip(self._distrust_thread_connections)
        # After a failure the pool's idle connections may all be dead (a restarted Redis): drop them, so that
        # the probe connects afresh instead of failing on one stale socket after another.
        self.breaker.on_trip(lambda: self.client.connection_pool.disconnect(inuse_connections=False))

    def remember(self, keys: Iterable[str]) -> None:
        with self.lock:
            if self.overflowed:
                return
            self.dirty.update(keys)
            if len(self.dirty) > FALLBACK_DIRTY_LIMIT:
                self.overflowed = True
                self.dirty.clear()

    def replay(self) -> None:
        """Recovery hook: delete in Redis what was written aside here (raises while Redis still fails)."""
        with self.lock:
            keys, overflowed = list(self.dirty), self.overflowed
        for start in range(0, len(keys), 1000):
            self.client.delete(*keys[start : start + 1000])
        if overflowed:
            from tenants import hotcache

            pattern = f"*{hotcache.PREFIX}*"
            for key in self.client.scan_iter(match=pattern, count=1000):
                self.client.delete(key)
            redis_access.log.warning("Redis outage: too many keys written aside; hot-cache tokens flushed")
        with self.lock:
            self.dirty.difference_update(keys)
            if overflowed:
                self.overflowed = False
        self.local.clear()

    def _distrust_thread_connections(self) -> None:
        self.epoch += 1

    def thread_client(self) -> redis.Redis:
        """This thread's own connection, for hit_later(): its command goes out now and its answer is read
        later, so no other command may use the connection in between. Raises what connecting raises."""
        abandoned = getattr(self.threads, "unread", None)
        if abandoned is not None:  # a hit_later() whose answer nobody read: that answer must not be
            self.threads.unread = None  # taken for the next command's
            abandoned.disconnect()
        found = getattr(self.threads, "client", None)
        if found is None:
            found = self.threads.client = redis.Redis(
                connection_pool=self.client.connection_pool, single_connection_client=True
            )
            self.threads.epoch = self.epoch
        elif self.threads.epoch != self.epoch:  # Redis failed since: reconnect rather than fail once more
            self.threads.epoch = self.epoch
            if found.connection is not None:
                found.connection.disconnect()
        return found


_servers: dict[tuple[str, str], _Server] = {}
_servers_lock = threading.Lock()


def _server(url: str, key_prefix: str) -> _Server:
    found = _servers.get((url, key_prefix))
    if found is None:
        with _servers_lock:
            found = _servers.get((url, key_prefix))
            if found is None:
                found = _servers[(url, key_prefix)] = _Server(url, key_prefix)
    return found


class RedisCache(BaseCache):
    """Django's cache API on Redis (portal.redis_access), answering from this process while Redis is down."""

    def __init__(self, server: str | list[str], params: dict[str, Any]) -> None:
        super().__init__(params)
        self._url = server if isinstance(server, str) else server[0]
        self._server = _server(self._url, self.key_prefix)
        self._serializer = RedisSerializer()
        self._counter_starts = tuple(self.make_key(p) for p in COUNTER_PREFIXES)

    # -- helpers

    def get_backend_timeout(self, timeout: Any = DEFAULT_TIMEOUT) -> int | None:
        if timeout == DEFAULT_TIMEOUT:
            timeout = self.default_timeout
        return None if timeout is None else max(0, int(timeout))  # None: no expiry; 0: delete

    def _local_timeout(self, key: str, timeout: int | None) -> float | None:
        """How long the fallback keeps `key`: counters as asked, copies at most fallback_ttl()."""
        if key.startswith(self._counter_starts):
            return timeout
        cap = fallback_ttl()
        return cap if timeout is None else min(timeout, cap)

    def _remote(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        return self._server.breaker.call(func, *args, **kwargs)

    def _dumps(self, value: Any) -> Any:
        return self._serializer.dumps(value)

    def _loads(self, data: Any) -> Any:
        return self._serializer.loads(data)

    # -- Django's cache API

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        key = self.make_and_validate_key(key, version=version)
        try:
            data = self._remote(self._server.client.get, key)
        except RedisDown:
            return self._server.local.get(key, default)
        return default if data is None else self._loads(data)

    def set(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> None:
        key = self.make_and_validate_key(key, version=version)
        seconds = self.get_backend_timeout(timeout)
        try:
            if seconds == 0:
                self._remote(self._server.client.delete, key)
            else:
                self._remote(self._server.client.set, key, self._dumps(value), seconds)
        except RedisDown:
            self._set_aside({key: value}, seconds)

    def add(self, key: Any, value: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        seconds = self.get_backend_timeout(timeout)
        client = self._server.client
        try:
            if seconds == 0:
                return bool(self._remote(client.exists, key))
            return bool(self._remote(client.set, key, self._dumps(value), ex=seconds, nx=True))
        except RedisDown:
            self._server.remember([key])
            return self._server.local.add(key, value, self._local_timeout(key, seconds))

    def touch(self, key: Any, timeout: Any = DEFAULT_TIMEOUT, version: Any = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        seconds = self.get_backend_timeout(timeout)
        client = self._server.client
        try:
            if seconds is None:
                return bool(self._remote(client.persist, key))
            return bool(self._remote(client.expire, key, seconds))
        except RedisDown:
            self._server.remember([key])
            return self._server.local.touch(key, self._local_timeout(key, seconds))

    def delete(self, key: Any, version: Any = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        try:
            return bool(self._remote(self._server.client.delete, key))
        except RedisDown:
            self._server.remember([key])
            return self._server.local.delete(key)

    def get_many(self, keys: Iterable[Any], version: Any = None) -> dict[Any, Any]:
        wanted = {self.make_and_validate_key(key, version=version): key for key in keys}
        if not wanted:
            return {}
        try:
            values = self._remote(self._server.client.mget, list(wanted))
        except RedisDown:
            found = self._server.local.get_many(list(wanted))
            return {wanted[k]: v for k, v in found.items()}
        return {wanted[k]: self._loads(v) for k, v in zip(wanted, values, strict=True) if v is not None}

    def has_key(self, key: Any, version: Any = None) -> bool:
        key = self.make_and_validate_key(key, version=version)
        try:
            return bool(self._remote(self._server.client.exists, key))
        except RedisDown:
            return self._server.local.has_key(key)

    def incr(self, key: Any, delta: int = 1, version: Any = None) -> int:
        key = self.make_and_validate_key(key, version=version)
        client = self._server.client
        try:
            if not self._remote(client.exists, key):
                raise ValueError(f"Key '{key}' not found.")
            return int(self._remote(client.incr, key, delta))
        except RedisDown:
            self._server.remember([key])
            with self._server.lock:
                return self._server.local.incr(key, delta)

    def set_many(
        self, data: dict[Any, Any], timeout: Any = DEFAULT_TIMEOUT, version: Any = None
    ) -> list[Any]:
        if not data:
            return []
        made = {self.make_and_validate_key(k, version=version): v for k, v in data.items()}
        seconds = self.get_backend_timeout(timeout)
        client = self._server.client

        def write() -> None:
            pipe = client.pipeline(transaction=False)
            if seconds == 0:
                pipe.delete(*made)
            else:
                pipe.mset({k: self._dumps(v) for k, v in made.items()})
                if seconds is not None:
                    for k in made:
                        pipe.expire(k, seconds)
            pipe.execute()

        try:
            self._remote(write)
        except RedisDown:
            self._set_aside(made, seconds)
        return []

    def delete_many(self, keys: Iterable[Any], version: Any = None) -> None:
        made = [self.make_and_validate_key(k, version=version) for k in keys]
        if not made:
            return
        try:
            self._remote(self._server.client.delete, *made)
        except RedisDown:
            self._server.remember(made)
            self._server.local.delete_many(made)

    def clear(self) -> None:
        self._server.local.clear()
        with contextlib.suppress(RedisDown):
            self._remote(self._server.client.flushdb)

    def _set_aside(self, made: dict[str, Any], seconds: int | None) -> None:
        self._server.remember(made)
        for key, value in made.items():
            if seconds == 0:
                self._server.local.delete(key)
            else:
                self._server.local.set(key, value, self._local_timeout(key, seconds))

    # -- counters in one round trip (rate limits)

    def hit(self, key: str, seconds: int, also_get: tuple[str, ...] = ()) -> tuple[int, int, dict[str, Any]]:
        """Count one hit on `key` in a window of `seconds` that starts at its first hit, and read the keys
        `also_get` (as get_many would), in one round trip: (hits in the window so far, seconds until it
        ends, the values found)."""
        # make_key without validate_key: that one only warns about keys memcached would refuse.
        full = [self.make_key(k) for k in also_get]
        made = self.make_key(key)
        script = self._server.scripts[_HIT]
        try:
            reply = self._remote(script, [made, *full], [seconds])
        except RedisDown:
            return self._hit_locally(made, seconds, also_get, full)
        return self._hit_reply(reply, also_get)

    def _hit_reply(self, reply: list[Any], also_get: tuple[str, ...]) -> tuple[int, int, dict[str, Any]]:
        count, ttl, *rest = reply
        values = rest[0] if rest else []
        found = {k: self._loads(v) for k, v in zip(also_get, values, strict=True) if v is not None}
        return int(count), max(1, int(ttl)), found

    def _hit_locally(
        self, made: str, seconds: int, also_get: tuple[str, ...], full: list[str]
    ) -> tuple[int, int, dict[str, Any]]:
        server = self._server
        now = time.time()
        with server.lock:
            count, ends = server.local.get(made, (0, 0.0))
            if ends <= now:
                count, ends = 0, now + seconds
            count += 1
            server.local.set(made, (count, ends), math.ceil(ends - now))
        server.remember([made])
        found = server.local.get_many(full)
        values = {k: found[f] for k, f in zip(also_get, full, strict=True) if f in found}
        return count, max(1, math.ceil(ends - now)), values

    def hit_later(
        self, key: str, seconds: int, also_get: tuple[str, ...] = ()
    ) -> Callable[[], tuple[int, int, dict[str, Any]]]:
        """hit(), sent now and read when the returned function is called (exactly once, always): the
        caller works meanwhile instead of sleeping on the socket. Any trouble ends in an ordinary hit()."""
        server = self._server
        if server.breaker.is_open:
            return lambda: self.hit(key, seconds, also_get)
        full = [self.make_key(k) for k in also_get]
        sha = server.scripts[_HIT].sha
        connection = None
        try:
            connection = server.thread_client().connection
            if connection is None:
                return lambda: self.hit(key, seconds, also_get)
            connection.send_command("EVALSHA", sha, 1 + len(full), self.make_key(key), *full, seconds)
        except ERRORS as exc:
            server.breaker.trip(exc)
            if connection is not None:
                connection.disconnect()
            return lambda: self.hit(key, seconds, also_get)
        server.threads.unread = connection

        def finish() -> tuple[int, int, dict[str, Any]]:
            server.threads.unread = None
            try:
                reply = connection.read_response()
            except NoScriptError:  # not run, so not counted: the ordinary call loads and runs it
                return self.hit(key, seconds, also_get)
            except ERRORS as exc:
                connection.disconnect()  # a reply may still be on its way: never read it as another's
                server.breaker.trip(exc)
                return self.hit(key, seconds, also_get)
            return self._hit_reply(reply, also_get)

        return finish

    def take(self, counters: list[tuple[str, int, int]]) -> int | None:
        """Take one from each counter `(key, limit, seconds)` in one round trip, atomically and all or none:
        None when every counter was below its limit (each now counts one more, in a window of `seconds` that
        starts with its first take), else the seconds until the first full counter's window ends (nothing
        taken)."""
        made = [(self.make_key(k), limit, seconds) for k, limit, seconds in counters]
        args = [v for _key, limit, seconds in counters for v in (limit, seconds)]
        try:
            ms = int(self._remote(self._server.scripts[_TAKE], [k for k, _l, _s in made], args))
        except RedisDown:
            return self._take_locally(made)
        return None if ms < 0 else max(1, -(-ms // 1000))

    def _take_locally(self, made: list[tuple[str, int, int]]) -> int | None:
        server = self._server
        now = time.time()
        with server.lock:
            current = {}
            for key, limit, seconds in made:
                count, ends = server.local.get(key, (0, 0.0))
                if ends <= now:
                    count, ends = 0, now + seconds
                if count >= limit:
                    return max(1, math.ceil(ends - now))
                current[key] = (count, ends)
            for key, (count, ends) in current.items():
                server.local.set(key, (count + 1, ends), math.ceil(ends - now))
        server.remember(current)
        return None

    def give_back(self, keys: list[str]) -> None:
        """Undo one take() on `keys`, in one round trip."""
        made = [self.make_key(k) for k in keys]
        try:
            self._remote(self._server.scripts[_GIVE_BACK], made, [])
        except RedisDown:
            server = self._server
            now = time.time()
            with server.lock:
                for key in made:
                    count, ends = server.local.get(key, (0, 0.0))
                    if count > 0 and ends > now:
                        server.local.set(key, (count - 1, ends), math.ceil(ends - now))
