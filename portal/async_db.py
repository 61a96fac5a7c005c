"""Synchronous database work from a websocket's event loop, without keeping request-scoped state alive."""

from __future__ import annotations

import contextvars
from collections.abc import Callable
from typing import Any, TypeVar

from channels.db import database_sync_to_async

_T = TypeVar("_T")


async def run_sync(func: Callable[..., _T], *args: Any) -> _T:
    """`func(*args)` through channels' database_sync_to_async (asgiref's thread-sensitive executor, stale
    database connections closed before and after), but in a copy of the caller's context that is dropped
    when the call returns.

    Django's cache handler (like translation, time zone and urlconf overrides) is an asgiref Local: context
    variables, which SyncToAsync otherwise copies back into the awaiting task's context. A websocket's
    context lives as long as the socket, so every idle viewer kept the cache object its connect() had
    built (a RedisCache with its client and serializer, about 1 KiB). Database connections are thread-local
    (`connections` is thread-critical), so they are handled exactly as before."""
    return await database_sync_to_async(func, context=contextvars.copy_context())(*args)
