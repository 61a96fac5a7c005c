"""Who may join or host a room: the join access matrix, and room access codes.

Actors: the owner and co-hosts (hosts), members of the room's tenant, invitees, people signed in without any
tie to the room ("outsiders"), and anonymous visitors. Policies: tenant, link, invite (Room.Access).

| actor \\ policy | tenant        | link               | invite        |
|-----------------|---------------|--------------------|---------------|
| owner/co-host   | join (host)   | join (host)        | join (host)   |
| member          | join          | join               | not invited   |
| invitee         | join          | join               | join          |
| outsider        | 404           | join               | 404           |
| anonymous       | sign in first | join as guest      | sign in first |

An access code, when set, is asked of everyone but the hosts. The rooms of another tenant stay invisible
(404) to those who may not enter them, so that a room's existence does not leak across institutions.
"""

from __future__ import annotations

import enum
import functools
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.db import connection
from django.db.models import Field, Model

from meetings.models import Room
from tenants.access import membership_of
from tenants.models import JitsiDeployment, Tenant


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    NOT_FOUND = "not_found"  # as if the room did not exist
    SIGN_IN = "sign_in"  # anonymous visitor of a room that needs an account
    NOT_INVITED = "not_invited"  # a member of the tenant, but the room is for invitees only


@dataclass(frozen=True)
class Viewer:
    """What a person is to one room."""

    is_authenticated: bool = False
    is_owner: bool = False
    is_co_host: bool = False
    is_member: bool = False
    is_invitee: bool = False

    @property
    def is_host(self) -> bool:
        return self.is_owner or self.is_co_host


def viewer_of(user: Any, room: Room) -> Viewer:
    """Read the viewer annotations of a room from room_named(); without them, ask the database."""
    if not getattr(user, "is_authenticated", False):
        return Viewer()
    if hasattr(room, "viewer_is_member"):
        return Viewer(
            is_authenticated=True,
            is_owner=room.owner_id == user.pk,
            is_co_host=bool(getattr(room, "viewer_is_co_host", False)),
            is_member=bool(getattr(room, "viewer_is_member", False)),
            is_invitee=bool(getattr(room, "viewer_is_invitee", False)),
        )
    return Viewer(
        is_authenticated=True,
        is_owner=room.owner_id == user.pk,
        is_co_host=room.co_hosts.filter(pk=user.pk).exists(),
        is_member=membership_of(user, room.tenant) is not None,
        is_invitee=room.invitees.filter(pk=user.pk).exists(),
    )


def decide(viewer: Viewer, room: Room) -> Verdict:
    """The access matrix above (the access code and the join window are checked afterwards)."""
    if room.archived:
        return Verdict.ALLOW if viewer.is_host else Verdict.NOT_FOUND
    if viewer.is_host or viewer.is_invitee:
        return Verdict.ALLOW
    if room.access == Room.Access.LINK:
        return Verdict.ALLOW
    if not viewer.is_authenticated:
        return Verdict.SIGN_IN
    if not viewer.is_member:
        return Verdict.NOT_FOUND
    if room.access == Room.Access.TENANT:
        return Verdict.ALLOW
    return Verdict.NOT_INVITED


def is_host(user: Any, room: Room) -> bool:
    """Owner or co-host, asked of the database (recordings; the join path reads viewer_of's annotations)."""
    if not getattr(user, "is_authenticated", False):
        return False
    return room.owner_id == user.pk or room.co_hosts.filter(pk=user.pk).exists()


def may_watch(user: Any, room: Room) -> bool:
    """May this user see the live count of the room? Those who may join it."""
    return decide(viewer_of(user, room), room) == Verdict.ALLOW


# Access codes, stored as HMAC-SHA256 of the code with a random salt per code and a key derived from the
# portal's secret, so that a leaked database alone does not reveal them. Fast on purpose: a code is short, and
# what protects it is the limit on attempts (meetings/ratelimit.py), not the cost of one check. Codes set
# before this format (Django's password hashers, PBKDF2 by default: about a second of CPU per check) still
# verify, and are stored anew in this format when next entered right (services.upgrade_access_code_hash).

ACCESS_CODE_SCHEME = "hmac_sha256"


def _access_code_key() -> bytes:
    # The same secret that seals stored secrets (portal/crypto.py): FIELD_ENCRYPTION_KEY, else SECRET_KEY.
    secret = settings.FIELD_ENCRYPTION_KEY or settings.SECRET_KEY
    return hashlib.sha256(b"auditorium-access-code:" + secret.encode()).digest()


def _code_digest(code: str, salt: str) -> str:
    message = f"{salt}${code}".encode()
    return hmac.new(_access_code_key(), message, hashlib.sha256).hexdigest()


def hash_access_code(code: str) -> str:
    """The stored form of an access code (already stripped): "hmac_sha256$<salt>$<hex digest>"."""
    salt = secrets.token_urlsafe(16)
    return f"{ACCESS_CODE_SCHEME}${salt}${_code_digest(code, salt)}"


def is_current_hash(stored: str) -> bool:
    """False for codes stored by Django's password hashers (before the keyed hash)."""
    return stored.startswith(ACCESS_CODE_SCHEME + "$")


def set_access_code(room: Room, code: str) -> None:
    """Set (or with an empty code, remove) the room's access code. The caller saves `access_code_hash`."""
    code = code.strip()
    room.access_code_hash = hash_access_code(code) if code else ""


def requires_access_code(room: Room) -> bool:
    return bool(room.access_code_hash)


def check_access_code(room: Room, code: str | None) -> bool:
    """True when the room has no code, or `code` is it. Callers that take a code from a person count the
    attempt first (meetings/joining.py)."""
    stored = room.access_code_hash
    if not stored:
        return True
    code = (code or "").strip()
    if not code:
        return False
    if is_current_hash(stored):
        parts = stored.split("$")
        return len(parts) == 3 and hmac.compare_digest(_code_digest(code, parts[1]), parts[2])
    return check_password(code, stored)  # set before the keyed hash (Django's hashers)


# The join's room: one statement, compiled once per process, fetching the room with its tenant and deployment
# by (tenant, name). The ORM form of the same query costs more SQL compilation per load than the rest of
# a join together; it runs only when the per-process copy (meetings/joincache.py) is stale.


def _columns(model: type[Model], alias: str) -> tuple[list[Field[Any, Any]], str]:
    fields = list(model._meta.concrete_fields)
    return fields, ", ".join(f'{alias}."{f.column}"' for f in fields)


@functools.cache
def _room_sql() -> tuple[str, list[Field[Any, Any]], list[Field[Any, Any]], list[Field[Any, Any]]]:
    room_fields, room_cols = _columns(Room, "r")
    tenant_fields, tenant_cols = _columns(Tenant, "t")
    dep_fields, dep_cols = _columns(JitsiDeployment, "d")
    sql = f"""
        SELECT {room_cols}, {tenant_cols}, {dep_cols}
        FROM {Room._meta.db_table} r
        JOIN {Tenant._meta.db_table} t ON t.id = r.tenant_id
        JOIN {JitsiDeployment._meta.db_table} d ON d.tenant_id = t.id
        WHERE r.tenant_id = %s AND r.name = %s AND t.is_active = %s
    """  # noqa: S608 - identifiers come from model metadata; every value is a bound parameter
    return sql, room_fields, tenant_fields, dep_fields


@functools.cache
def _converters(model: type[Model]) -> list[tuple[Any, list[Any]]]:
    """Per concrete field: its column expression and the converters the ORM would apply to its values."""
    result = []
    for f in model._meta.concrete_fields:
        col = f.get_col(model._meta.db_table)
        result.append((col, [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]))
    return result


def _hydrate(model: type[Model], fields: list[Field[Any, Any]], values: tuple[Any, ...]) -> Any:
    """A model instance from raw column values, converted as the ORM would (backend converters for dates
    on SQLite, field converters such as JSON and sealed secrets)."""
    converted = []
    for (col, converters), value in zip(_converters(model), values, strict=True):
        for convert in converters:
            value = convert(value, col, connection)
        converted.append(value)
    return model.from_db(connection.alias, [f.attname for f in fields], converted)


def room_from_db(tenant_id: int, name: str) -> Room | None:
    """The room `name` of the active tenant `tenant_id` with its tenant and deployment, in one query (by the
    unique index on tenant and name). Raw SQL: the tenant is in the WHERE clause itself."""
    sql, room_fields, tenant_fields, dep_fields = _room_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [tenant_id, name, True])
        row = cursor.fetchone()
    if row is None:
        return None
    n_room, n_tenant = len(room_fields), len(tenant_fields)
    room = _hydrate(Room, room_fields, row[:n_room])
    tenant = _hydrate(Tenant, tenant_fields, row[n_room : n_room + n_tenant])
    deployment = _hydrate(JitsiDeployment, dep_fields, row[n_room + n_tenant :])
    tenant._state.fields_cache["deployment"] = deployment
    deployment._state.fields_cache["tenant"] = tenant
    room.tenant = tenant
    return room
