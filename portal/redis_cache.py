"""Django's Redis cache, with one connection pool and client per process and a one-round-trip rate counter."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient
from redis.exceptions import NoScriptError, RedisError

# Pools, and a client on top of each, shared by every cache object of this process (by server and options).
_shared: dict[tuple[str, str], Any] = {}
_shared_lock = threading.Lock()


# One hit on a fixed window that starts with its first hit (KEYS[1], ARGV[1] seconds), and the values of the
# other keys: one command instead of a pipeline of four (INCR, EXPIRE NX, TTL, MGET), which costs the
# client about 13 us less CPU per call with redis-py. A script runs atomically, so no counter is left
# without its expiry.
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
_hit_scripts: dict[int, Any] = {}
_per_thread = threading.local()

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
_scripts: dict[tuple[int, str], Any] = {}


class _Client(RedisCacheClient):
    """Django's Redis cache client, with connections shared by the whole process.

    Django builds a cache object per thread and per asyncio context (`caches` is an asgiref Local), and each
    object its own connection pool: under Daphne every websocket that touched the cache (a viewer's session,
    in connect()) kept a Redis connection of its own for as long as it stayed open (1,005 Redis clients and
    51 KiB per idle viewer with 1,000 viewers). A pool and a redis client are thread-safe, so one of each per
    server serves every call. Django also builds a new redis.Redis object for every call, which costs about
    0.2 ms of CPU with redis-py 8; here it is built once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        options = repr(sorted(self._pool_options.items()))  # type: ignore[attr-defined]  # private in stubs
        self._shared_keys = [(url, options) for url in self._servers]  # type: ignore[attr-defined]

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        index = self._get_connection_pool_index(write)  # type: ignore[attr-defined]  # private in django-stubs
        shared_key = self._shared_keys[index]
        client = _shared.get(shared_key)
        if client is None:
            with _shared_lock:
                client = _shared.get(shared_key)
                if client is None:
                    url = shared_key[0]
                    pool = self._pool_class.from_url(url, **self._pool_options)  # type: ignore[attr-defined]
                    client = _shared[shared_key] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def thread_client(self) -> Any:
        """This thread's own connection, for the hot path: a pooled call checks the connection out and
        back in and asks the socket whether stray data is waiting (a syscall that hands the GIL to another
        thread of a busy worker); a connection held by one thread needs none of that. Threads of a server
        are few and long-lived (gunicorn's per worker, Daphne's executor), so are these connections."""
        pool_client = self.get_client(write=True)
        abandoned = getattr(_per_thread, "unread", None)
        if abandoned is not None:  # a hit_later() whose answer nobody read: that answer must not be
            _per_thread.unread = None  # taken for the next command's
            abandoned.disconnect()
        mine = getattr(_per_thread, "clients", None)
        if mine is None:
            mine = _per_thread.clients = {}
        client = mine.get(id(pool_client))
        if client is None:
            client = mine[id(pool_client)] = self._client(  # type: ignore[attr-defined]
                connection_pool=pool_client.connection_pool, single_connection_client=True
            )
        return client

    def _script(self, client: Any) -> Any:
        script = _hit_scripts.get(id(client.connection_pool))
        if script is None:
            script = _hit_scripts[id(client.connection_pool)] = client.register_script(_HIT)
        return script

    def _values(self, reply: list[Any]) -> tuple[int, int, list[Any]]:
        count, ttl, *rest = reply
        loads = self._serializer.loads  # type: ignore[attr-defined]  # private in django-stubs
        values = [None if v is None else loads(v) for v in (rest[0] if rest else [])]
        return int(count), max(1, int(ttl)), values

    def hit(self, key: str, seconds: int, also_get: list[str]) -> tuple[int, int, list[Any]]:
        client = self.thread_client()
        return self._values(self._script(client)(keys=[key, *also_get], args=[seconds], client=client))

    def hit_later(
        self, key: str, seconds: int, also_get: list[str]
    ) -> Callable[[], tuple[int, int, list[Any]]]:
        """hit() in two halves: the command goes out now, its answer is read when the returned function is
        called (exactly once, always). Any trouble on the fast track (a script Redis does not know yet, a
        broken connection) ends in an ordinary hit(), which loads the script and reconnects."""
        client = self.thread_client()
        script = self._script(client)
        connection = client.connection
        if connection is None:
            return lambda: self.hit(key, seconds, also_get)
        try:
            connection.send_command("EVALSHA", script.sha, 1 + len(also_get), key, *also_get, seconds)
        except (RedisError, OSError):
            connection.disconnect()
            return lambda: self.hit(key, seconds, also_get)
        _per_thread.unread = connection

        def finish() -> tuple[int, int, list[Any]]:
            _per_thread.unread = None
            try:
                reply = connection.read_response()
            except NoScriptError:  # not run, so not counted: the ordinary call loads and runs it
                return self.hit(key, seconds, also_get)
            except (RedisError, OSError):
                connection.disconnect()  # a reply may still be on its way: never read it as another's
                return self.hit(key, seconds, also_get)
            return self._values(reply)

        return finish

    def run(self, source: str, keys: list[str], args: list[Any]) -> Any:
        """A Lua script, loaded once per pool and run by its hash (redis-py reloads it when Redis lost it)."""
        client = self.get_client(write=True)
        script = _scripts.get((id(client.connection_pool), source))
        if script is None:
            script = _scripts[(id(client.connection_pool), source)] = client.register_script(source)
        return script(keys=keys, args=args, client=client)


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _Client

    def hit(self, key: str, seconds: int, also_get: tuple[str, ...] = ()) -> tuple[int, int, dict[str, Any]]:
        """Count one hit on `key` in a window of `seconds` that starts at its first hit, and read the keys
        `also_get` (as get_many would), in one round trip: (hits in the window so far, seconds until it
        ends, the values found)."""
        client = self._cache
        assert isinstance(client, _Client)  # set in __init__; narrows the type for mypy
        # make_key without validate_key: that one only warns about keys memcached would refuse.
        full = [self.make_key(k) for k in also_get]
        count, ttl, values = client.hit(self.make_key(key), seconds, full)
        return count, ttl, {k: v for k, v in zip(also_get, values, strict=True) if v is not None}

    def hit_later(
        self, key: str, seconds: int, also_get: tuple[str, ...] = ()
    ) -> Callable[[], tuple[int, int, dict[str, Any]]]:
        """hit(), sent now and read when the returned function is called: the caller works meanwhile
        instead of sleeping on the socket (a blocking wait costs a busy server more CPU than the call)."""
        client = self._cache
        assert isinstance(client, _Client)
        finish = client.hit_later(self.make_key(key), seconds, [self.make_key(k) for k in also_get])

        def result() -> tuple[int, int, dict[str, Any]]:
            count, ttl, values = finish()
            return count, ttl, {k: v for k, v in zip(also_get, values, strict=True) if v is not None}

        return result

    def take(self, counters: list[tuple[str, int, int]]) -> int | None:
        """Take one from each counter `(key, limit, seconds)` in one round trip, atomically and all or none:
        None when every counter was below its limit (each now counts one more, in a window of `seconds` that
        starts with its first take), else the seconds until the first full counter's window ends (nothing
        taken)."""
        client = self._cache
        assert isinstance(client, _Client)
        args = [v for _key, limit, seconds in counters for v in (limit, seconds)]
        ms = int(client.run(_TAKE, [self.make_key(k) for k, _l, _s in counters], args))
        return None if ms < 0 else max(1, -(-ms // 1000))

    def give_back(self, keys: list[str]) -> None:
        """Undo one take() on `keys`, in one round trip."""
        client = self._cache
        assert isinstance(client, _Client)
        client.run(_GIVE_BACK, [self.make_key(k) for k in keys], [])
