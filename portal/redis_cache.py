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

    def hit(self, key: str, seconds: int) -> tuple[int, int]:
        client = self.get_client(key, write=True)
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, seconds, nx=True)  # the window starts with its first hit
        pipe.ttl(key)
        count, _set, ttl = pipe.execute()
        return int(count), max(1, int(ttl))


class RedisCache(DjangoRedisCache):
    def __init__(self, server: str, params: dict[str, Any]) -> None:
        super().__init__(server, params)
        self._class = _Client

    def hit(self, key: str, seconds: int, version: int | None = None) -> tuple[int, int]:
        """Count one hit on `key` in a window of `seconds` that starts at its first hit, in one round trip:
        (hits in the window so far, seconds until it ends)."""
        client = self._cache
        assert isinstance(client, _Client)  # set in __init__; narrows the type for mypy
        return client.hit(self.make_and_validate_key(key, version=version), seconds)
