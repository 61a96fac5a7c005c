"""Django's Redis cache, with one redis client per connection pool and a one-round-trip rate counter."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.redis import RedisCache as DjangoRedisCache
from django.core.cache.backends.redis import RedisCacheClient


class _Client(RedisCacheClient):
    """Django builds a new redis.Redis object for every cache call, which costs about 0.2 ms of CPU with
    redis-py 8 (five calls made a join 1 ms slower). The connection pool is what holds connections and a
    client on top of it is thread-safe, so one client per pool serves every call."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._clients: dict[int, Any] = {}

    def get_client(self, key: Any = None, *, write: bool = False) -> Any:
        pool = self._get_connection_pool(write)  # type: ignore[attr-defined]  # private in django-stubs
        client = self._clients.get(id(pool))
        if client is None:
            client = self._clients[id(pool)] = self._client(connection_pool=pool)  # type: ignore[attr-defined]
        return client

    def hit(self, key: str, seconds: int, also_get: list[str]) -> tuple[int, int, list[Any]]:
        client = self.get_client(key, write=True)
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, seconds, nx=True)  # the window starts with its first hit
        pipe.ttl(key)
        if also_get:
            pipe.mget(also_get)
        count, _set, ttl, *rest = pipe.execute()
        loads = self._serializer.loads  # type: ignore[attr-defined]  # private in django-stubs
        values = [None if v is None else loads(v) for v in (rest[0] if rest else [])]
        return int(count), max(1, int(ttl)), values


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
        full = [self.make_and_validate_key(k) for k in also_get]
        count, ttl, values = client.hit(self.make_and_validate_key(key), seconds, full)
        return count, ttl, {k: v for k, v in zip(also_get, values, strict=True) if v is not None}
