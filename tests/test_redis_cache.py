"""portal.redis_cache: one redis client per pool, and the one-round-trip counter the API throttles use."""

from __future__ import annotations

import time

from django.core.cache import cache

from tenants.api.throttling import hit
from tests.conftest import require


def _redis() -> None:
    require(hasattr(cache, "hit"), "REDIS_URL (make test sets it)")


def test_one_client_serves_every_call():
    _redis()
    client = cache._cache  # type: ignore[attr-defined]
    assert client.get_client("a") is client.get_client("b", write=True)


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
