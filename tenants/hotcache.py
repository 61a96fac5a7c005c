"""Per-process copies of hot rows (users, rooms) that stay exactly as fresh as the database.

A join reads the same few rows again and again: the signed-in user, their memberships, the room with its
tenant, deployment, co-hosts, invitees and lecture series. Loading them costs several queries and most of
a join's CPU (ORM compilation). This module keeps them in process memory, each entry tagged with the
*generation* of its rows: a random token in the shared cache (Redis in production), replaced whenever one of
those rows changes (signal receivers below and in meetings/joincache.py, so services, the admin and
management commands all count). A request reads the current tokens in one round trip (`cache.get_many`);
an entry whose token differs is loaded again. So:

- A change is seen by every process on the next request after it commits: a blocked member, a removed
  co-host, an archived room are refused at once, not after a TTL. The token is replaced twice, when the
  row is saved and again on commit, so that a request that read the old rows in between does not keep them.
- Secrets (the deployment's app secret, password hashes) never leave the process: Redis holds only tokens.
- Tokens are random, not counters: a token evicted or flushed from Redis comes back as a new value and
  cannot match an old entry by accident.
- Writes that bypass model signals (QuerySet.update(), raw SQL) are caught by the age limit: no entry is
  used longer than HOT_CACHE_MAX_AGE seconds (default 60) without being reloaded.
"""

from __future__ import annotations

import copy
import hashlib
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache
from django.db import transaction

T = TypeVar("T")

PREFIX = "hot:"
ALL_ROOMS = f"{PREFIX}rooms"  # any change that may touch every room: tenants, deployments


def user_key(user_id: Any) -> str:
    return f"{PREFIX}user:{user_id}"


def room_key(tenant_id: int, name: str) -> str:
    """The token of one room, by (tenant, name): rooms are always looked up in their tenant."""
    return f"{PREFIX}room:{tenant_id}:{bounded(name)}"


def bounded(part: str) -> str:
    """A key part from a URL, short enough for any cache (a 10 kB path value is hashed, not stored)."""
    if len(part) <= 100:
        return part
    return "sha256-" + hashlib.sha256(part.encode("utf-8", "surrogatepass")).hexdigest()


def read_generations(keys: list[str]) -> dict[str, str]:
    """The current token of each key, in one round trip; a missing key gets a fresh token."""
    found: dict[str, str] = cache.get_many(keys)
    missing = [k for k in keys if k not in found]
    if missing:
        for key in missing:
            cache.add(key, secrets.token_hex(8), timeout=None)
        found.update(cache.get_many(missing))
    return found


def _replace(keys: Iterable[str]) -> None:
    cache.set_many({key: secrets.token_hex(8) for key in keys}, timeout=None)


def changed(*keys: str) -> None:
    """Rows behind `keys` changed: every process reloads them (now, and again once the change commits)."""
    keys = tuple(dict.fromkeys(keys))
    if not keys:
        return
    _replace(keys)
    transaction.on_commit(lambda: _replace(keys))


def max_age() -> float:
    return float(getattr(settings, "HOT_CACHE_MAX_AGE", 60))


@dataclass
class _Entry(Generic[T]):
    tokens: tuple[str, ...]
    loaded_at: float
    value: T


class LocalCache(Generic[T]):
    """Entries of one kind in this process, valid while their generation tokens are unchanged."""

    def __init__(self, limit: int = 5000) -> None:
        self._entries: dict[Any, _Entry[T]] = {}
        self._lock = threading.Lock()
        self._limit = limit

    def get(self, key: Any, tokens: tuple[str, ...], load: Callable[[], T]) -> T:
        """The entry for `key` if its tokens are `tokens` (read BEFORE loading) and it is young enough,
        else `load()` stored under those tokens."""
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and entry.tokens == tokens and now - entry.loaded_at < max_age():
            return entry.value
        value = load()
        with self._lock:
            if len(self._entries) >= self._limit:
                self._entries.clear()  # crude but bounded; a full reload costs one query per key
            self._entries[key] = _Entry(tokens, now, value)
        return value

    def peek(self, key: Any) -> _Entry[T] | None:
        """The entry for `key` if young enough, whatever its tokens: for work done while the tokens are
        still being read, to be kept only if they then match (`entry.tokens`)."""
        entry = self._entries.get(key)
        if entry is None or time.monotonic() - entry.loaded_at >= max_age():
            return None
        return entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


@dataclass(frozen=True)
class UserEntry:
    user: Any  # the User row (never handed out itself: callers get a copy)
    member_of: frozenset[int]  # ids of the active tenants where the user is an unblocked member


_users: LocalCache[UserEntry | None] = LocalCache()


def _load_user(user_id: Any) -> UserEntry | None:
    from django.db import connection

    from tenants.models import Membership, Tenant, User

    if connection.vendor == "postgresql":
        # One statement instead of two on a person's first join in this process (most joins of a burst):
        # the row and the ids of the active tenants where they are an unblocked member.
        rows = list(
            User._default_manager.raw(
                f"""SELECT u.*, ARRAY(
                      SELECT m.tenant_id FROM {Membership._meta.db_table} m
                      JOIN {Tenant._meta.db_table} t ON t.id = m.tenant_id
                      WHERE m.user_id = u.id AND NOT m.is_blocked AND t.is_active) AS hot_member_of
                    FROM {User._meta.db_table} u WHERE u.id = %s""",  # noqa: S608 - table names from models
                [user_id],
            )
        )
        if not rows:
            return None
        user = rows[0]
        member_of = frozenset(user.__dict__.pop("hot_member_of") or ())
        return UserEntry(user=user, member_of=member_of)
    found = User._default_manager.filter(pk=user_id).first()
    if found is None:
        return None
    user = found
    member_of = frozenset(
        Membership.objects.filter(user_id=user.pk, is_blocked=False, tenant__is_active=True).values_list(
            "tenant_id", flat=True
        )
    )
    return UserEntry(user=user, member_of=member_of)


def user_entry(user_id: Any, generation: str | None = None) -> UserEntry | None:
    """`generation`: the user's token, when the caller read it ahead in a round trip of its own."""
    if generation is None:
        key = user_key(user_id)
        generation = read_generations([key])[key]
    return _users.get(user_id, (generation,), lambda: _load_user(user_id))


def cached_user(user_id: Any, generation: str | None = None) -> Any:
    """A private copy of the user row, with the entry it came from (for member_of) attached."""
    try:
        entry = user_entry(int(user_id), generation)
    except (TypeError, ValueError):
        return None
    return _private_copy(entry)


def peek_user(user_id: Any) -> Any:
    """cached_user() without checking the entry's token (LocalCache.peek): None if this process has no
    young entry. The caller keeps what it computed only if user_entry() later gives the same entry."""
    entry = _users.peek(user_id)
    return _private_copy(entry.value) if entry is not None else None


def _private_copy(entry: UserEntry | None) -> Any:
    if entry is None:
        return None
    user = copy.copy(entry.user)  # per request: a view may change attributes of request.user
    user._hot_entry = entry
    return user


def member_tenant_ids(user: Any) -> frozenset[int] | None:
    """The tenants where `user` is an unblocked member, when it came through the cache (else None)."""
    entry = getattr(user, "_hot_entry", None)
    return entry.member_of if isinstance(entry, UserEntry) else None


class CachedUserMixin:
    """Authentication backends: the per-request user lookup served from the process (see above).

    Django still checks `is_active` (user_can_authenticate) and the session's password hash on every
    request; only the row comes from memory while its generation is unchanged."""

    def get_user(self, user_id: Any, generation: str | None = None) -> Any:
        user = cached_user(user_id, generation)
        if user is None:
            return None
        return user if self.user_can_authenticate(user) else None  # type: ignore[attr-defined]  # a mixin over ModelBackend, which defines it


class CachedModelBackend(CachedUserMixin, ModelBackend):
    """Django's ModelBackend with the cached per-request user lookup."""


def clear_local() -> None:
    """Forget every entry of this process (tests; the shared tokens stay)."""
    _users.clear()


# Signal receivers: which rows a change touches. Connected in TenantsConfig.ready().


def _user_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    changed(user_key(instance.pk))


def _membership_saved(sender: Any, instance: Any, **kwargs: Any) -> None:
    changed(user_key(instance.user_id))


def _all_rooms_changed(sender: Any, **kwargs: Any) -> None:
    # Tenants (is_active, slug), deployments (secrets, URLs), signing keys: every cached room carries them.
    # A switched-off tenant's rooms are no longer found, so member_of entries need not change with it.
    changed(ALL_ROOMS)


def connect() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save

    from tenants.models import JitsiDeployment, Membership, SigningKey, Tenant

    for signal in (post_save, post_delete):
        signal.connect(_user_saved, sender=get_user_model(), dispatch_uid="hot_user")
        signal.connect(_membership_saved, sender=Membership, dispatch_uid="hot_membership")
        for model in (Tenant, JitsiDeployment, SigningKey):
            signal.connect(_all_rooms_changed, sender=model, dispatch_uid=f"hot_{model.__name__}")
