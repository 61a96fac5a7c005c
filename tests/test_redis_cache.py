"""portal.redis_cache: one redis client per pool, and the one-round-trip counter the API throttles use."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.cache import cache

from tenants.api.throttling import hit
from tests.conftest import require


def _redis() -> None:
    require(hasattr(cache, "hit"), "REDIS_URL (make test sets it)")


def test_one_client_serves_every_call():
    _redis()
    from django.conf import settings

    from portal import redis_access

    assert redis_access.client(settings.REDIS_URL) is redis_access.client(settings.REDIS_URL)


def test_cache_objects_of_every_thread_share_one_connection_pool():
    """Django makes a cache object per thread (and per asyncio context); under Daphne every open websocket
    that touched the cache kept a Redis connection of its own: 1,005 connections for 1,000 viewers."""
    _redis()
    from django.core.cache import caches

    found: list[tuple[Any, Any]] = []  # the objects themselves: ids of dead ones could repeat

    def in_thread() -> None:
        backend = caches["default"]
        found.append((backend, backend._server.client))  # type: ignore[attr-defined]  # the process's

    threads = [threading.Thread(target=in_thread) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len({id(backend) for backend, _client in found}) == 3  # a cache object each, as Django makes them
    assert len({id(client) for _backend, client in found}) == 1  # one redis client (and pool) for all


def test_hits_are_counted_in_a_window_that_starts_with_the_first():
    _redis()
    assert hit("test-window", 2) == (1, 2, {})
    cache.set("other", "value")
    count, left, found = hit("test-window", 2, ("other", "missing"))
    assert count == 2 and 1 <= left <= 2 and found == {"other": "value"}
    time.sleep(2.1)
    assert hit("test-window", 2) == (1, 2, {})  # a new window


def test_without_redis_windows_follow_the_clock(settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert not hasattr(cache, "hit")  # Django's setting_changed handler rebuilt the cache
    cache.set("other", "value")
    first, left, _found = hit("local-window", 60)
    second, _, found = hit("local-window", 60, ("other", "missing"))
    assert (first, second) == (1, 2) and 1 <= left <= 60 and found == {"other": "value"}


def test_a_hit_sent_ahead_is_read_when_asked():
    _redis()
    cache.set("ahead-other", {"a": 1})
    first = cache.hit_later("ahead", 30, ("ahead-other", "ahead-missing"))  # type: ignore[attr-defined]
    count, left, found = first()
    assert count == 1 and 1 <= left <= 30 and found == {"ahead-other": {"a": 1}}
    assert cache.hit_later("ahead", 30)()[0] == 2  # type: ignore[attr-defined]


def test_an_answer_nobody_read_is_never_taken_for_the_next_one():
    _redis()
    cache.hit_later("abandoned", 30, ("x",))  # type: ignore[attr-defined]  # sent, never read
    assert hit("abandoned-next", 30) == (
        1,
        30,
        {},
    )  # not the abandoned reply (which said 1 too, of another key)
    assert hit("abandoned", 30)[0] == 2  # the abandoned hit did count


def test_a_script_redis_forgot_is_loaded_again():
    _redis()
    from django.conf import settings

    from portal import redis_access

    client = redis_access.client(settings.REDIS_URL)
    assert cache.hit_later("reloaded", 30)()[0] == 1  # type: ignore[attr-defined]
    client.script_flush()
    assert cache.hit_later("reloaded", 30)()[0] == 2  # type: ignore[attr-defined]  # NOSCRIPT: not counted twice
