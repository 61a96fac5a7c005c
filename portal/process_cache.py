"""The one mechanism for per-process caches: `LocalCache`, entries of one kind kept in this process.

Every per-process cache of the project is a LocalCache created with a name, and is listed in the README
table "Per-process caches" (tests/test_process_caches.py checks that the two agree). An entry is used while

1. its *generation tokens* are unchanged (for rows that any process may change: a random token per group
   of rows in the shared cache, replaced by `changed()` whenever one of those rows changes, on save and
   again on commit; read with the request's other cache calls by `read_generations()`), and
2. it is younger than the cache's `max_age` (a bound for writes no signal sees: QuerySet.update(), raw SQL,
   another program; and the whole freshness rule of caches without tokens).

The longest possible staleness of an entry is therefore: none for changes made through models in any process
while Redis answers (the next request reads the new token), else `max_age`. While Redis is down the tokens
come from this process (portal/redis_cache.py keeps them at most REDIS_FALLBACK_TTL seconds, 5 by default),
so another process's change is seen within that time; when Redis is back the tokens written meanwhile are
deleted there, so every process reloads what changed during the outage. Changes made in this process are seen
at once in every case.

Tokens are random, not counters: a token evicted or flushed from Redis comes back as a new value and
cannot match an old entry by accident. Secrets never leave the process: Redis holds only tokens.

Models import no caches: they send portal.signals.bulk_updated, and each cache module connects its own
receivers in its app's ready().
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

_registry: dict[str, LocalCache[Any]] = {}


def read_generations(keys: list[str]) -> dict[str, str]:
    """The current token of each key, in one round trip; a missing key gets a fresh token."""
    found: dict[str, str] = cache.get_many(keys)
    missing = [k for k in keys if k not in found]
    if missing:
        for key in missing:
            cache.add(key, secrets.token_hex(8), timeout=None)
        found.update(cache.get_many(missing))
        for key in missing:  # the cache could not keep it (a full fallback store): a token of our own
            found.setdefault(key, secrets.token_hex(8))
    return found


def _replace(keys: Iterable[str]) -> None:
    cache.set_many({key: secrets.token_hex(8) for key in keys}, timeout=None)


def changed(*keys: str) -> None:
    """Rows behind the token `keys` changed: every process reloads them (now, and again once the change
    commits, so that a request that read the old rows in between does not keep them)."""
    keys = tuple(dict.fromkeys(keys))
    if not keys:
        return
    _replace(keys)
    transaction.on_commit(lambda: _replace(keys))


@dataclass
class Entry(Generic[T]):
    tokens: tuple[Any, ...]
    loaded_at: float
    value: T


class LocalCache(Generic[T]):
    """Entries of one kind in this process (thread-safe), valid while their tokens are unchanged and they are
    younger than `max_age` seconds (a number, or a function of no arguments read on every use so that
    settings overrides apply). At `limit` entries the cache is emptied at once: crude but bounded."""

    def __init__(
        self, name: str, *, max_age: float | Callable[[], float], limit: int = 5000, holds: str = ""
    ) -> None:
        self.name = name
        self.holds = holds
        self._max_age = max_age
        self._entries: dict[Any, Entry[T]] = {}
        self._lock = threading.Lock()
        self._limit = limit
        _registry[name] = self

    def max_age(self) -> float:
        return self._max_age() if callable(self._max_age) else self._max_age

    def get(self, key: Any, tokens: tuple[Any, ...], load: Callable[[], T]) -> T:
        """The entry for `key` if its tokens are `tokens` (read BEFORE loading) and it is young enough,
        else `load()` stored under those tokens."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry.tokens == tokens and now - entry.loaded_at < self.max_age():
            return entry.value
        value = load()
        self.put(key, tokens, value, now)
        return value

    def put(self, key: Any, tokens: tuple[Any, ...], value: T, loaded_at: float | None = None) -> None:
        with self._lock:
            if len(self._entries) >= self._limit and key not in self._entries:
                self._entries.clear()
            self._entries[key] = Entry(tokens, time.monotonic() if loaded_at is None else loaded_at, value)

    def peek(self, key: Any, max_age: float | None = None) -> Entry[T] | None:
        """The entry for `key` if young enough (`max_age`, at most the cache's own), whatever its tokens:
        for work done while the tokens are still being read, to be kept only if they then match."""
        entry = self._entries.get(key)
        limit = self.max_age() if max_age is None else min(max_age, self.max_age())
        if entry is None or time.monotonic() - entry.loaded_at >= limit:
            return None
        return entry

    def value(self, key: Any, default: Any = None) -> Any:
        """The value for `key` if young enough, else `default` (caches without tokens)."""
        entry = self.peek(key)
        return default if entry is None else entry.value

    def discard(self, key: Any) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


def registered() -> dict[str, LocalCache[Any]]:
    """Every LocalCache of this process by name (the README table lists the same names)."""
    return dict(_registry)


def clear_all() -> None:
    """Forget every entry of every LocalCache in this process (tests; the shared tokens stay)."""
    for found in list(_registry.values()):
        found.clear()
