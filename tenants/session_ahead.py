"""The signed-in user of a request from session data read ahead, for hot paths that batch their Redis reads.

django.contrib.auth.get_user() costs two Redis round trips per request: the session (cached_db), then the
generation token of the user's per-process copy (tenants/hotcache.py). A hot path that makes a round trip
anyway (the join API counts its rate limit) reads both in it: the session's cache key, and the token of the
user this session belonged to when this process last saw it (`keys()`). `user()` then answers the user
exactly when get_user() would answer that same user without writing anything, and None in every other case
(session not in the cache, user unknown to this process, a hash only a fallback secret verifies, an
inactive user, another backend...): the caller then takes the ordinary path, which decides those.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
    load_backend,
)
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare

from portal.adapters.django import preload_session
from portal.process_cache import LocalCache
from tenants import hotcache

# Engines whose load() is a read of the default cache under SessionStore.cache_key (and nothing else when
# the entry is there).
_CACHE_ENGINES = frozenset(
    {"django.contrib.sessions.backends.cached_db", "django.contrib.sessions.backends.cache"}
)
# A guess that user() verifies every time, so no age limit; about 6 MB at the limit, then forgotten at once.
_user_of_session: LocalCache[Any] = LocalCache(
    "session users", max_age=float("inf"), limit=50_000, holds="the user id a session key had when last seen"
)
_backends: dict[str, Any] = {}


def _session(request: HttpRequest) -> Any | None:
    if settings.SESSION_ENGINE not in _CACHE_ENGINES or settings.SESSION_CACHE_ALIAS != "default":
        return None
    session = getattr(request, "session", None)
    # session_key is None for a missing or malformed cookie (SessionBase validates it).
    if session is None or not getattr(session, "session_key", None):
        return None
    return session


def keys(request: HttpRequest) -> tuple[str, ...]:
    """Cache keys to read with the caller's round trip: the session, and the token of the user it had."""
    session = _session(request)
    if session is None:
        return ()
    found = [session.cache_key]
    user_id = _user_of_session.value(session.session_key)
    if user_id is not None:
        found.append(hotcache.user_key(user_id))
    return tuple(found)


def remembered_user(request: HttpRequest) -> Any | None:
    """The id of the user this session had when this process last saw it (a guess until user() agrees)."""
    session = _session(request)
    return _user_of_session.value(session.session_key) if session is not None else None


def user(request: HttpRequest, found: dict[str, Any]) -> Any | None:
    """The signed-in user from `found` (the values of keys()), or None when the ordinary path must decide.

    On success the session object holds the data read (no second read if the view touches it)."""
    session = _session(request)
    if session is None:
        return None
    data = found.get(session.cache_key)
    if not isinstance(data, dict):
        return None
    backend_path = data.get(BACKEND_SESSION_KEY)
    session_hash = data.get(HASH_SESSION_KEY)
    if backend_path not in settings.AUTHENTICATION_BACKENDS or not session_hash or SESSION_KEY not in data:
        return None
    backend = _backends.get(backend_path)
    if backend is None:
        backend = _backends[backend_path] = load_backend(backend_path)  # stateless, as Django's are
    if not isinstance(backend, hotcache.CachedUserMixin):
        return None
    try:
        user_id = get_user_model()._meta.pk.to_python(data[SESSION_KEY])
    except ValidationError:
        return None
    # The token read ahead, if this process knew the session's user; else the backend reads it (one more
    # round trip, once per session and process).
    token = found.get(hotcache.user_key(user_id))
    found_user = backend.get_user(user_id, generation=token)
    if found_user is None or not constant_time_compare(session_hash, found_user.get_session_auth_hash()):
        return None
    preload_session(session, data)  # what SessionBase._get_session() would have loaded, through the adapter
    if token is None:
        _user_of_session.put(session.session_key, (), user_id)
    return found_user


def forget_all() -> None:
    """Tests."""
    _user_of_session.clear()
