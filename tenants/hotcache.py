"""Per-process copies of hot rows (users, rooms) that stay exactly as fresh as the database.

A join reads the same few rows again and again: the signed-in user, their memberships, the room with its
tenant, deployment, co-hosts, invitees and lecture series. Loading them costs several queries and most of
a join's CPU (ORM compilation). This module keeps the users (and meetings/joincache.py the rooms) in process
memory with portal/process_cache.py's one mechanism: each entry is tagged with the generation tokens of its
rows, replaced whenever one of those rows changes (signal receivers below and in meetings/joincache.py, so
services, the admin and management commands all count), and reloaded after HOT_CACHE_MAX_AGE seconds
(default 60) at the latest. A request reads the current tokens in one round trip (`cache.get_many`).
Freshness, including during a Redis outage: see portal/process_cache.py and the README table.
"""

from __future__ import annotations

import copy
import hashlib
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.backends import ModelBackend

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


# The generation tokens and the cache class, under the names the join path has always used.
from portal.process_cache import LocalCache as LocalCache  # noqa: E402
from portal.process_cache import changed as changed  # noqa: E402
from portal.process_cache import read_generations as read_generations  # noqa: E402


def max_age() -> float:
    return float(getattr(settings, "HOT_CACHE_MAX_AGE", 60))


@dataclass(frozen=True)
class UserEntry:
    user: Any  # the User row (never handed out itself: callers get a copy)
    member_of: frozenset[int]  # ids of the active tenants where the user is an unblocked member


_users: LocalCache[UserEntry | None] = LocalCache(
    "users", max_age=max_age, holds="a signed-in person's row and the tenants they are a member of"
)


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


def _memberships_updated(sender: Any, rows: list[dict[str, Any]], **kwargs: Any) -> None:
    changed(*(user_key(pk) for pk in sorted({row["user_id"] for row in rows})))


def _all_rooms_changed(sender: Any, **kwargs: Any) -> None:
    # Tenants (is_active, slug), deployments (secrets, URLs), signing keys: every cached room carries them.
    # A switched-off tenant's rooms are no longer found, so member_of entries need not change with it.
    changed(ALL_ROOMS)


def connect() -> None:
    from django.contrib.auth import get_user_model
    from django.db.models.signals import post_delete, post_save

    from portal.signals import bulk_updated
    from tenants.models import JitsiDeployment, Membership, SigningKey, Tenant

    bulk_updated.connect(_memberships_updated, sender=Membership, dispatch_uid="hot_memberships_updated")

    for signal in (post_save, post_delete):
        signal.connect(_user_saved, sender=get_user_model(), dispatch_uid="hot_user")
        signal.connect(_membership_saved, sender=Membership, dispatch_uid="hot_membership")
        for model in (Tenant, JitsiDeployment, SigningKey):
            signal.connect(_all_rooms_changed, sender=model, dispatch_uid=f"hot_{model.__name__}")
