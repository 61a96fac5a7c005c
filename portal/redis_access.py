"""The one way this project reaches Redis: redis-py clients with short timeouts, no retries, and a circuit
breaker per process, so that Redis accelerates the site but never stalls or breaks it.

- Timeouts: connecting and reading each give up after REDIS_TIMEOUT seconds (default 0.2). redis-py's own
  defaults (5 s, retried) made every request wait 10-12 s on a frozen Redis.
- No retries inside redis-py: a failed call trips the breaker and the caller takes its fallback at once.
- Breaker: after a failure the process stops calling Redis for REDIS_BREAKER_SECONDS (default 1). Then one
  call (the probe) tries again; meanwhile every other call falls back at once. The probe first runs the
  recovery hooks (replaying what was written aside during the outage, see portal/redis_cache.py and the
  live-count publisher) and only then lets everyone back. So with Redis frozen a process spends at most one
  timeout per breaker period on it, and Redis is used again within about a second of coming back.

What each user does while the breaker is open is its own documented fallback (README, "What happens when
Redis is down"): the cache answers from this process (portal/redis_cache.py), the live-count publisher keeps
the latest count of each room to publish on recovery and the websocket hub pauses its viewers
(meetings/consumers.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.exceptions import RedisError
from redis.retry import Retry

log = logging.getLogger(__name__)

# What a broken, refusing or frozen Redis raises through redis-py (its ConnectionError and TimeoutError are
# RedisErrors; a socket error in between may surface as OSError).
ERRORS: tuple[type[BaseException], ...] = (RedisError, OSError)


class RedisDown(Exception):
    """Redis did not answer, or is known to be down (the breaker is open): take the fallback."""


def timeout() -> float:
    return float(getattr(settings, "REDIS_TIMEOUT", 0.2))


def breaker_seconds() -> float:
    return float(getattr(settings, "REDIS_BREAKER_SECONDS", 1.0))


def client_options() -> dict[str, Any]:
    """Options for every redis-py client and pool built here (sync and asyncio take the same)."""
    return {
        "socket_timeout": timeout(),
        "socket_connect_timeout": timeout(),
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }


class Breaker:
    """The circuit breaker of one Redis server in this process (thread-safe; asyncio code may use it too).

    `open_until` is 0.0 while Redis answers; reading it is the only cost on the hot path."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.open_until = 0.0
        self._probing = False
        self._lock = threading.Lock()
        self._hooks: list[Callable[[], None]] = []
        self._trip_hooks: list[Callable[[], None]] = []

    def on_recovery(self, hook: Callable[[], None]) -> None:
        """`hook()` runs in the probe, before other calls are let through again; it may raise (the probe
        then fails and the breaker stays open)."""
        with self._lock:
            if hook not in self._hooks:
                self._hooks.append(hook)

    def on_trip(self, hook: Callable[[], None]) -> None:
        """`hook()` runs whenever a call fails (it must not raise)."""
        with self._lock:
            if hook not in self._trip_hooks:
                self._trip_hooks.append(hook)

    @property
    def is_open(self) -> bool:
        return self.open_until != 0.0

    def enter(self) -> None:
        """Before a call while open: RedisDown unless this caller is the probe, in which case the recovery
        hooks run and, if they succeed, the breaker closes (the caller's own call follows)."""
        now = time.monotonic()
        with self._lock:
            if not self.open_until:
                return  # closed meanwhile by another probe
            if now < self.open_until or self._probing:
                raise RedisDown(self.name)
            self._probing = True
            hooks = list(self._hooks)
        try:
            for hook in hooks:
                hook()
        except ERRORS as exc:
            self.trip(exc)
            raise RedisDown(self.name) from exc
        except Exception as exc:  # a broken hook must not leave the breaker probing for ever
            log.exception("Redis %s: a recovery hook failed", self.name)
            self.trip(exc)
            raise RedisDown(self.name) from exc
        with self._lock:
            self._probing = False
            self.open_until = 0.0
        log.warning("Redis %s answers again: back in use", self.name)

    def trip(self, exc: BaseException | None = None) -> None:
        with self._lock:
            was_open = bool(self.open_until)
            self.open_until = time.monotonic() + breaker_seconds()
            self._probing = False
            hooks = list(self._trip_hooks)
        for hook in hooks:
            hook()
        if not was_open:
            log.warning("Redis %s failed (%s): using fallbacks for %.1f s", self.name, exc, breaker_seconds())

    def call(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """`func(*args, **kwargs)` under the breaker: RedisDown instead of any Redis failure."""
        if self.open_until:
            self.enter()
        try:
            return func(*args, **kwargs)
        except ERRORS as exc:
            self.trip(exc)
            raise RedisDown(self.name) from exc


_breakers: dict[str, Breaker] = {}
_clients: dict[str, redis.Redis] = {}
_lock = threading.Lock()


def _redacted(url: str) -> str:
    """The URL without credentials, for log lines."""
    _head, sep, tail = url.rpartition("@")
    return f"redis://…@{tail}" if sep else url


def breaker(url: str) -> Breaker:
    found = _breakers.get(url)
    if found is None:
        with _lock:
            found = _breakers.setdefault(url, Breaker(_redacted(url)))
    return found


def client(url: str) -> redis.Redis:
    """This process's client of `url` (thread-safe, one connection pool), with the options above."""
    found = _clients.get(url)
    if found is None:
        with _lock:
            found = _clients.get(url)
            if found is None:
                pool = redis.ConnectionPool.from_url(url, **client_options())
                found = _clients[url] = redis.Redis(connection_pool=pool)
    return found


def async_client(url: str, **extra: Any) -> Any:
    """A new asyncio client of `url` with the same options (one per event loop; the caller closes it)."""
    import redis.asyncio

    return redis.asyncio.Redis.from_url(url, **client_options(), **extra)


def reset() -> None:
    """Forget every breaker state (tests)."""
    for found in list(_breakers.values()):
        with found._lock:
            found.open_until = 0.0
            found._probing = False
