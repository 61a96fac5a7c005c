"""Occupancy and session state from Prosody's events: the services behind live participant counts.

Each function handles one parsed event (meetings.events) in one transaction and is idempotent, because Prosody
delivers at least once, out of order and with gaps (CONTRACTS.md §2):

- An occupancy is keyed by (deployment, occupant_jid, joined_at), enforced by a unique constraint; the first
  delivery creates it, every later one (byte-identical retries) changes nothing.
- The session row of the room is locked (`select_for_update`) before anything else, so concurrent
  deliveries of the same event or of events of one room serialise in PostgreSQL instead of double counting.
- `active_occupants_count` is authoritative when present, but only if the event is not older than the one the
  current count came from (`count_as_of`), and a join whose leave was already seen never raises the count.
  Without it the count is the number of open occupancies. Counts never go below zero.
- `room/destroyed` closes every open occupancy with the times it carries (`all_occupants`, possibly `{}`), or
  the destruction time; a late `occupant/left` after it changes nothing.
- Sessions are found by the room's `created_at` when the event carries it, else by the one open session of the
  room; events of a room nobody told us about open a session with an unknown start.

An event authenticated against a copy of the deployment (the endpoint caches it per process) is recorded
only if that copy still holds: `sealed_secret` is checked in the same statement or transaction, so a secret
rotated in any process refuses the old one at once (DeploymentChanged, nothing recorded).

Rooms auditorium does not know (or breakout rooms) are counted per deployment with `room` left empty.
Changes of the count a page shows are published after commit (`transaction.on_commit`) to
meetings.consumers, which fans them out to the websockets of every server process.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from django.db import IntegrityError, connection, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from meetings import events as ev
from meetings.count_publish import ShownCount, publish_count
from meetings.models import MeetingSession, Occupancy, Room
from tenants.models import JitsiDeployment, Tenant

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Outcome:
    """What an event did: for the endpoint's answer and for tests."""

    session_id: int
    changed: bool  # False for duplicates and stale events
    count: int


class DeploymentChanged(Exception):
    """The deployment's event secret or slug changed, or its tenant was switched off, since the caller
    authenticated the event against its copy: nothing was recorded."""


# --- room names ---


def resolve_room(deployment: JitsiDeployment, ref: ev.RoomRef) -> Room | None:
    """The tenant's room an event is about, or None (unknown name, another tenant path, breakout room)."""
    if ref.is_breakout:
        return None
    if ref.tenant_segment.lower() != (deployment.tenant_path or "").lower():
        return None
    return (
        Room.objects.filter(tenant_id=deployment.tenant_id, name=ref.node.lower())
        .select_related("tenant")
        .first()
    )


def internal_room_name(deployment: JitsiDeployment, room_name: str) -> str:
    """The name Prosody reports for one of our rooms: `[acme]room` on tenant-path deployments."""
    return f"[{deployment.tenant_path}]{room_name}" if deployment.tenant_path else room_name


# --- locking helpers ---


def _locking() -> QuerySet[MeetingSession]:
    """Sessions locked until commit, with the room names needed for publishing (no extra query)."""
    return MeetingSession.objects.select_for_update(of=("self",)).select_related("room__tenant")


def _lock(queryset: QuerySet[MeetingSession]) -> MeetingSession | None:
    """The first matching session, locked until commit (PostgreSQL re-checks the filter after waiting)."""
    return queryset.select_for_update(of=("self",)).select_related("room__tenant").first()


def _locked_open_session(deployment: JitsiDeployment, room_name: str) -> MeetingSession | None:
    for _attempt in range(5):
        session = _lock(
            MeetingSession.objects.filter(
                deployment=deployment, room_name=room_name, destroyed_at__isnull=True
            )
        )
        if session is None or session.destroyed_at is None:
            return session
        # Closed while we waited for its lock: look again for the (possibly new) open one.
    return None


def _open_session(
    deployment: JitsiDeployment, ref: ev.RoomRef, *, created_at: datetime | None
) -> MeetingSession:
    """The locked open session of the room, created when there is none (the constraints settle races)."""
    for _attempt in range(5):
        session = _locked_open_session(deployment, ref.room_name)
        if session is not None:
            return session
        try:
            with transaction.atomic():
                return MeetingSession.objects.create(
                    tenant_id=deployment.tenant_id,
                    deployment=deployment,
                    room=resolve_room(deployment, ref),
                    room_name=ref.room_name,
                    is_breakout=ref.is_breakout,
                    created_at=created_at,
                )
        except IntegrityError:
            # A concurrent delivery created it first; lock theirs on the next pass.
            log.debug("open session of %s created concurrently", ref.room_name)
    raise IntegrityError(f"could not open a session for {ref.room_name}")


def _session_for(deployment: JitsiDeployment, ref: ev.RoomRef, at: datetime) -> MeetingSession:
    """The locked session an occupant event at `at` belongs to."""
    open_session = _locked_open_session(deployment, ref.room_name)
    if open_session is not None and (open_session.created_at is None or at >= open_session.created_at):
        return open_session
    # Older than the open session: a late event of a previous life of the room.
    closed = _lock(
        MeetingSession.objects.filter(deployment=deployment, room_name=ref.room_name, destroyed_at__gte=at)
        .filter(Q(created_at__isnull=True) | Q(created_at__lte=at))
        .order_by("-destroyed_at")
    )
    if closed is not None:
        return closed
    if open_session is not None:
        return open_session
    return _open_session(deployment, ref, created_at=None)


def _insert_occupancy(
    deployment: JitsiDeployment, session: MeetingSession, occupant: ev.Occupant, left_at: datetime | None
) -> bool:
    """Insert the occupancy unless its (deployment, occupant_jid, joined_at) exists: one statement, and the
    unique constraint decides between concurrent duplicates. True when this call inserted it."""
    table = Occupancy._meta.db_table
    # Raw SQL skips the ORM's conversion: SQLite would otherwise store another text form of the same instant
    # ("…+00:00"), which the ORM's lookups (and the unique constraint) would then not match.
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} (tenant_id, deployment_id, session_id, occupant_jid, joined_at, left_at, "  # noqa: S608 - our own table name
            "participant_id) VALUES (%s, %s, %s, %s, %s, %s, %s) "
            "ON CONFLICT (deployment_id, occupant_jid, joined_at) DO NOTHING RETURNING id",
            [
                deployment.tenant_id,
                deployment.pk,
                session.pk,
                occupant.occupant_jid,
                adapt(occupant.joined_at),
                adapt(left_at),
                occupant.participant_id,
            ],
        )
        return cursor.fetchone() is not None


def _seconds(joined_at: datetime, left_at: datetime) -> int:
    return max(0, int((left_at - joined_at).total_seconds()))


def _open_count(session: MeetingSession) -> int:
    return Occupancy.objects.filter(session=session, left_at__isnull=True).count()


def _set_count(session: MeetingSession, count: int, as_of: datetime | None, fields: set[str]) -> None:
    """Set the shown count (never below zero), remember the peak, and publish after commit when it changed."""
    count = max(0, count)
    if as_of is not None:
        session.count_as_of = as_of
        fields.add("count_as_of")
    if count > session.peak_participants:
        session.peak_participants = count
        fields.add("peak_participants")
    if count != session.current_count:
        session.current_count = count
        session.version += 1
        fields.update({"current_count", "version"})
        _publish_on_commit(session)


def _save(session: MeetingSession, fields: set[str]) -> None:
    if fields:
        session.save(update_fields=[*sorted(fields), "updated_at"])


def _publish_on_commit(session: MeetingSession) -> None:
    if session.room_id is None:
        return  # nobody can watch a room auditorium does not know
    room = session.room
    assert room is not None
    shown = ShownCount(
        room_name=room.name,
        session_id=session.pk,
        version=session.version,
        count=session.current_count if session.destroyed_at is None else 0,
    )
    tenant_slug = room.tenant.slug

    def publish() -> None:
        publish_count(tenant_slug, shown)

    transaction.on_commit(publish)


def _apply_authoritative(
    session: MeetingSession, count: int | None, at: datetime, fields: set[str], *, stale: bool = False
) -> None:
    if session.destroyed_at is not None:
        return  # a closed session shows 0 whatever late events say
    if count is not None:
        if stale or (session.count_as_of is not None and at < session.count_as_of):
            return  # an older event arriving late: the newer count stands
        _set_count(session, count, at, fields)
    else:
        _set_count(session, _open_count(session), None, fields)


def _close_session(session: MeetingSession, *, at: datetime, fields: set[str]) -> None:
    """Close every open occupancy at `at`, record totals and peak, mark the session destroyed."""
    for occupancy in Occupancy.objects.filter(session=session, left_at__isnull=True).only("pk", "joined_at"):
        left_at = max(at, occupancy.joined_at)
        Occupancy.objects.filter(pk=occupancy.pk).update(left_at=left_at)
        session.participant_seconds += _seconds(occupancy.joined_at, left_at)
    fields.add("participant_seconds")
    peak = _peak_from_intervals(session)
    if peak > session.peak_participants:
        session.peak_participants = peak
        fields.add("peak_participants")
    session.destroyed_at = at
    fields.add("destroyed_at")
    if session.current_count != 0:
        session.current_count = 0
        session.version += 1
        fields.update({"current_count", "version"})
        _publish_on_commit(session)


def _peak_from_intervals(session: MeetingSession) -> int:
    """The most occupants at once, from the recorded intervals (fills gaps in the counts we were sent)."""
    points: list[tuple[datetime, int]] = []
    for joined_at, left_at in Occupancy.objects.filter(session=session).values_list("joined_at", "left_at"):
        points.append((joined_at, 1))
        if left_at is not None:
            points.append((left_at, -1))
    # Leaves before joins at the same second: a join and a leave can share a second without overlapping.
    points.sort(key=lambda p: (p[0], p[1]))
    peak = current = 0
    for _at, delta in points:
        current += delta
        peak = max(peak, current)
    return peak


# --- the caller's credential ---

_DEPLOYMENT = JitsiDeployment._meta.db_table
_TENANT = Tenant._meta.db_table
# True while the deployment still has the slug and the stored (sealed) event secret the caller authenticated
# the event with, and its tenant is active. Part of the one-statement paths' WHERE clause (no extra round
# trip); the general services run it first in their transaction. Comparing the stored ciphertext is exact:
# every rotation stores a new one. Scalar subqueries rather than EXISTS over a join: PostgreSQL plans them
# faster (about 0.03 ms added to the statement instead of 0.05, which is planned anew for every event).
_CREDENTIAL_HOLDS = f"""(SELECT d.event_secret FROM {_DEPLOYMENT} d
    WHERE d.id = %(deployment)s AND d.slug = %(slug)s
      AND (SELECT t.is_active FROM {_TENANT} t WHERE t.id = d.tenant_id)) = %(sealed_secret)s"""  # noqa: S608 - table names are our own models'


def _credential(deployment: JitsiDeployment, sealed_secret: str | None) -> dict[str, Any]:
    return {"deployment": deployment.pk, "slug": deployment.slug, "sealed_secret": sealed_secret}


def _check_credential(deployment: JitsiDeployment, sealed_secret: str | None) -> None:
    """Raise DeploymentChanged unless the credential still holds (no check without one)."""
    if sealed_secret is None:
        return
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT 1 WHERE {_CREDENTIAL_HOLDS}", _credential(deployment, sealed_secret))
        if cursor.fetchone() is None:
            raise DeploymentChanged(deployment.slug)


# --- services ---


def record_room_created(
    *, deployment: JitsiDeployment, event: ev.RoomCreated, sealed_secret: str | None = None
) -> Outcome:
    with transaction.atomic():
        _check_credential(deployment, sealed_secret)
        existing = _lock(
            MeetingSession.objects.filter(
                deployment=deployment, room_name=event.room.room_name, created_at=event.created_at
            )
        )
        if existing is not None:
            return Outcome(existing.pk, False, existing.current_count)
        open_session = _locked_open_session(deployment, event.room.room_name)
        if open_session is not None:
            fields: set[str] = set()
            if open_session.created_at is None:
                # Occupant events came first: this is the start of the session they opened.
                open_session.created_at = event.created_at
                _save(open_session, {"created_at"})
                return Outcome(open_session.pk, True, open_session.current_count)
            if open_session.created_at >= event.created_at:
                # The same life (a duplicate that raced the first delivery past the lookup above), or older.
                return Outcome(open_session.pk, False, open_session.current_count)
            # The previous life's destruction was never reported (a gap): it ended when this one began.
            _close_session(open_session, at=event.created_at, fields=fields)
            _save(open_session, fields)
        session = _open_session(deployment, event.room, created_at=event.created_at)
        return Outcome(session.pk, True, session.current_count)


def record_room_destroyed(
    *, deployment: JitsiDeployment, event: ev.RoomDestroyed, sealed_secret: str | None = None
) -> Outcome:
    with transaction.atomic():
        _check_credential(deployment, sealed_secret)
        session = None
        if event.created_at is not None:
            session = _lock(
                MeetingSession.objects.filter(
                    deployment=deployment, room_name=event.room.room_name, created_at=event.created_at
                )
            )
        if session is None:
            open_session = _locked_open_session(deployment, event.room.room_name)
            if open_session is not None and (
                open_session.created_at is None
                or event.created_at is None
                or open_session.created_at <= event.created_at
            ):
                session = open_session
                if session.created_at is None and event.created_at is not None:
                    session.created_at = event.created_at
                    _save(session, {"created_at"})
        if session is None:
            # Nothing known about this life of the room: record it closed, without touching the open one.
            session = MeetingSession.objects.create(
                tenant_id=deployment.tenant_id,
                deployment=deployment,
                room=resolve_room(deployment, event.room),
                room_name=event.room.room_name,
                is_breakout=event.room.is_breakout,
                created_at=event.created_at,
                destroyed_at=event.destroyed_at,
            )
        elif session.destroyed_at is not None:
            return Outcome(session.pk, False, 0)  # a duplicate
        fields: set[str] = set()
        for occupant in event.all_occupants:
            left_at = max(occupant.left_at or event.destroyed_at, occupant.joined_at)
            occupancy, created = Occupancy.objects.get_or_create(
                deployment=deployment,
                occupant_jid=occupant.occupant_jid,
                joined_at=occupant.joined_at,
                defaults={
                    "tenant_id": deployment.tenant_id,
                    "session": session,
                    "left_at": left_at,
                    "participant_id": occupant.participant_id,
                },
            )
            if created:
                session.participant_seconds += _seconds(occupant.joined_at, left_at)
                fields.add("participant_seconds")
            elif occupancy.left_at is None and occupancy.session_id == session.pk:
                occupancy.left_at = left_at
                occupancy.save(update_fields=["left_at"])
                session.participant_seconds += _seconds(occupancy.joined_at, left_at)
                fields.add("participant_seconds")
        if session.destroyed_at is None:
            _close_session(session, at=event.destroyed_at, fields=fields)
        else:
            peak = _peak_from_intervals(session)
            if peak > session.peak_participants:
                session.peak_participants = peak
                fields.add("peak_participants")
        _save(session, fields)
        return Outcome(session.pk, True, 0)


# --- the one-statement paths for the common events ---
#
# Almost every event is a join or a leave of a room with an open session, carrying Prosody's count. The
# general services take 5-7 round trips for one (BEGIN, lock, insert, update, COMMIT, plus the ORM's work);
# these do the same in ONE statement in autocommit: a data-modifying CTE that locks the session row
# (`FOR UPDATE`, so concurrent deliveries of a room still serialise exactly as in the services), inserts or
# closes the occupancy (the unique constraint and `left_at IS NULL` re-checked under the row lock still decide
# between duplicates) and updates the session's count only when the occupancy changed and the event is not
# older than the count (`count_as_of`). When their preconditions do not hold (no open session, a session
# that started after the event, a leave before its join, no count) they change nothing and answer None, and
# the caller runs the general service, which handles every case. Same rules, same rows, same publishing.

_SESSION = MeetingSession._meta.db_table
_OCCUPANCY = Occupancy._meta.db_table
_ROOM = Room._meta.db_table

# The session's new values are computed from the row as locked (PostgreSQL re-reads a row changed by a
# concurrent transaction before updating it), so the count rules hold under concurrency.
_AUTHORITATIVE = "(ms.destroyed_at IS NULL AND (ms.count_as_of IS NULL OR ms.count_as_of <= %(at)s))"
_SET_COUNT = f"""
    count_as_of = CASE WHEN {_AUTHORITATIVE} THEN %(at)s ELSE ms.count_as_of END,
    peak_participants = CASE WHEN {_AUTHORITATIVE} THEN GREATEST(ms.peak_participants, %(count)s)
                             ELSE ms.peak_participants END,
    version = ms.version + CASE WHEN {_AUTHORITATIVE} AND ms.current_count <> %(count)s THEN 1 ELSE 0 END,
    current_count = CASE WHEN {_AUTHORITATIVE} THEN %(count)s ELSE ms.current_count END,
    updated_at = %(now)s"""
_LOCKED_COLUMNS = f"""ms.id, ms.current_count, ms.version, r.name AS room, t.slug AS tenant
        FROM {_SESSION} ms LEFT JOIN {_ROOM} r ON r.id = ms.room_id
        LEFT JOIN {_TENANT} t ON t.id = r.tenant_id"""
_ANSWER = """SELECT s.id, s.current_count, s.version, s.room, s.tenant,
    (SELECT count(*) FROM changed), u.current_count, u.version
    FROM s LEFT JOIN u ON u.id = s.id"""

# `/*guard*/`: "AND <the credential holds>" when the caller passed one (_variants). If it does not hold, no
# session is locked and nothing changes; the general service then finds out and raises DeploymentChanged.
_JOIN_SQL = f"""WITH s AS (
    SELECT {_LOCKED_COLUMNS}
    WHERE ms.deployment_id = %(deployment)s AND ms.room_name = %(room_name)s AND ms.destroyed_at IS NULL
      AND (ms.created_at IS NULL OR ms.created_at <= %(at)s) /*guard*/
    FOR UPDATE OF ms
), changed AS (
    INSERT INTO {_OCCUPANCY} (tenant_id, deployment_id, session_id, occupant_jid, joined_at, left_at,
                              participant_id)
    SELECT %(tenant)s, %(deployment)s, s.id, %(jid)s, %(joined_at)s, NULL, %(participant)s FROM s
    ON CONFLICT (deployment_id, occupant_jid, joined_at) DO NOTHING
    RETURNING session_id
), u AS (
    UPDATE {_SESSION} ms SET {_SET_COUNT}
    FROM changed WHERE ms.id = changed.session_id
    RETURNING ms.id, ms.current_count, ms.version
) {_ANSWER}"""  # noqa: S608 - table names are our own models'

_LEAVE_SQL = f"""WITH o AS (
    SELECT session_id FROM {_OCCUPANCY}
    WHERE deployment_id = %(deployment)s AND occupant_jid = %(jid)s AND joined_at = %(joined_at)s
), s AS (
    SELECT {_LOCKED_COLUMNS}
    WHERE ms.id = (SELECT session_id FROM o) /*guard*/
    FOR UPDATE OF ms
), changed AS (
    UPDATE {_OCCUPANCY} oc SET left_at = %(at)s FROM s
    WHERE oc.deployment_id = %(deployment)s AND oc.occupant_jid = %(jid)s AND oc.joined_at = %(joined_at)s
      AND oc.left_at IS NULL AND oc.session_id = s.id
    RETURNING oc.session_id
), u AS (
    UPDATE {_SESSION} ms SET participant_seconds = ms.participant_seconds + %(seconds)s, {_SET_COUNT}
    FROM changed WHERE ms.id = changed.session_id
    RETURNING ms.id, ms.current_count, ms.version
) {_ANSWER}"""  # noqa: S608 - table names are our own models'


def _variants(sql: str) -> dict[bool, str]:
    """The statement without (False) and with (True) the credential check."""
    return {
        checked: sql.replace("/*guard*/", f"AND {_CREDENTIAL_HOLDS}" if checked else "")
        for checked in (False, True)
    }


_JOIN_SQLS = _variants(_JOIN_SQL)
_LEAVE_SQLS = _variants(_LEAVE_SQL)


def _one_statement(sql: str, params: dict[str, Any]) -> Outcome | None:
    if connection.vendor != "postgresql":
        return None  # SQLite (development) has no data-modifying CTEs: the general services do it all
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return None  # no session to lock: the general service decides
    session_id, old_count, _old_version, room_name, tenant_slug, changed, new_count, new_version = row
    if not changed:
        return Outcome(session_id, False, old_count)  # a duplicate (or a join whose leave came first)
    count = old_count if new_count is None else new_count
    if new_count is not None and new_count != old_count and room_name is not None:
        shown = ShownCount(room_name=room_name, session_id=session_id, version=new_version, count=new_count)

        def publish() -> None:
            publish_count(tenant_slug, shown)

        transaction.on_commit(publish)  # at once in autocommit; after the outer commit inside one
    return Outcome(session_id, True, count)


def _fast_joined(
    deployment: JitsiDeployment, event: ev.OccupantJoined, sealed_secret: str | None
) -> Outcome | None:
    if event.active_occupants_count is None:
        return None
    occupant = event.occupant
    return _one_statement(
        _JOIN_SQLS[sealed_secret is not None],
        {
            **_credential(deployment, sealed_secret),
            "tenant": deployment.tenant_id,
            "room_name": event.room.room_name,
            "jid": occupant.occupant_jid,
            "joined_at": occupant.joined_at,
            "participant": occupant.participant_id,
            "at": occupant.joined_at,
            "count": event.active_occupants_count,
            "now": timezone.now(),
        },
    )


def _fast_left(
    deployment: JitsiDeployment, event: ev.OccupantLeft, sealed_secret: str | None
) -> Outcome | None:
    occupant = event.occupant
    if event.active_occupants_count is None or occupant.left_at is None:
        return None
    return _one_statement(
        _LEAVE_SQLS[sealed_secret is not None],
        {
            **_credential(deployment, sealed_secret),
            "jid": occupant.occupant_jid,
            "joined_at": occupant.joined_at,
            "at": occupant.left_at,
            "seconds": _seconds(occupant.joined_at, occupant.left_at),
            "count": event.active_occupants_count,
            "now": timezone.now(),
        },
    )


def record_occupant_joined(
    *, deployment: JitsiDeployment, event: ev.OccupantJoined, sealed_secret: str | None = None
) -> Outcome:
    outcome = _fast_joined(deployment, event, sealed_secret)
    if outcome is not None:
        return outcome
    occupant = event.occupant
    with transaction.atomic():
        _check_credential(deployment, sealed_secret)
        session = _session_for(deployment, event.room, occupant.joined_at)
        # A join into a room already destroyed is history: it ended with the room.
        if not _insert_occupancy(deployment, session, occupant, session.destroyed_at):
            return Outcome(session.pk, False, session.current_count)  # duplicate, or its leave came first
        fields: set[str] = set()
        if session.destroyed_at is not None:
            session.participant_seconds += _seconds(occupant.joined_at, session.destroyed_at)
            fields.add("participant_seconds")
        _apply_authoritative(session, event.active_occupants_count, occupant.joined_at, fields)
        _save(session, fields)
        return Outcome(session.pk, True, session.current_count)


def record_occupant_left(
    *, deployment: JitsiDeployment, event: ev.OccupantLeft, sealed_secret: str | None = None
) -> Outcome:
    occupant = event.occupant
    outcome = _fast_left(deployment, event, sealed_secret)
    if outcome is not None:
        return outcome
    left_at = occupant.left_at or occupant.joined_at  # parse_event guarantees left_at on this path
    with transaction.atomic():
        _check_credential(deployment, sealed_secret)
        known = (
            Occupancy.objects.filter(
                deployment=deployment, occupant_jid=occupant.occupant_jid, joined_at=occupant.joined_at
            )
            .values_list("session_id", flat=True)
            .first()
        )
        if known is not None:
            session = _locking().get(pk=known)
        else:
            session = _session_for(deployment, event.room, occupant.joined_at)
        closed = Occupancy.objects.filter(
            deployment=deployment,
            occupant_jid=occupant.occupant_jid,
            joined_at=occupant.joined_at,
            left_at__isnull=True,
        ).update(left_at=left_at)
        if not closed and not _insert_occupancy(deployment, session, occupant, left_at):
            return Outcome(session.pk, False, session.current_count)  # duplicate, or closed by destroy
        fields: set[str] = {"participant_seconds"}
        session.participant_seconds += _seconds(occupant.joined_at, left_at)
        _apply_authoritative(session, event.active_occupants_count, left_at, fields)
        _save(session, fields)
        return Outcome(session.pk, True, session.current_count)


def record_event(
    *, deployment: JitsiDeployment, event: ev.Event, sealed_secret: str | None = None
) -> Outcome:
    """Record one event. `sealed_secret`: the stored event secret the caller authenticated it against
    (meetings.event_views); DeploymentChanged when the deployment no longer has it."""
    if isinstance(event, ev.RoomCreated):
        return record_room_created(deployment=deployment, event=event, sealed_secret=sealed_secret)
    if isinstance(event, ev.RoomDestroyed):
        return record_room_destroyed(deployment=deployment, event=event, sealed_secret=sealed_secret)
    if isinstance(event, ev.OccupantJoined):
        return record_occupant_joined(deployment=deployment, event=event, sealed_secret=sealed_secret)
    return record_occupant_left(deployment=deployment, event=event, sealed_secret=sealed_secret)


def reconcile(
    *, deployment: JitsiDeployment, room_name: str, participants: int | None, now: datetime | None = None
) -> Outcome | None:
    """Correct the count of a room from Prosody's room API (`mod_muc_size`).

    `participants` is its answer, None for 404 (the room is gone). It counts the focus and subtracts one only
    above one, so 1 means "0 or 1": the event count stands when it is 0 or 1."""
    now = now or timezone.now()
    ref = ev.RoomRef(room_name=room_name, room_jid="", is_breakout=False)
    with transaction.atomic():
        session = _locked_open_session(deployment, room_name)
        fields: set[str] = set()
        if participants is None:
            if session is None:
                return None
            _close_session(session, at=now, fields=fields)
            _save(session, fields)
            return Outcome(session.pk, True, 0)
        if participants <= 1:
            if session is None or session.current_count <= 1:
                return Outcome(session.pk, False, session.current_count) if session else None
            target = 1
        else:
            target = participants
        if session is None:
            session = _open_session(deployment, ref, created_at=None)
        changed = target != session.current_count
        _set_count(session, target, now, fields)
        _save(session, fields)
        return Outcome(session.pk, changed, session.current_count)


def shown_count(room: Room) -> ShownCount:
    """What a page shows for the room right now: the open session's count, else 0."""
    open_row = (
        MeetingSession.objects.filter(room=room, tenant_id=room.tenant_id, destroyed_at__isnull=True)
        .values("pk", "version", "current_count")
        .first()
    )
    if open_row is not None:
        return ShownCount(room.name, open_row["pk"], open_row["version"], open_row["current_count"])
    last = (
        MeetingSession.objects.filter(room=room, tenant_id=room.tenant_id)
        .order_by("-id")
        .values("pk", "version")
        .first()
    )
    if last is None:
        return ShownCount(room.name, 0, 0, 0)
    return ShownCount(room.name, last["pk"], last["version"], 0)


def purge_occupancies(*, now: datetime | None = None) -> int:
    """Delete attendance rows older than each tenant's retention; session totals stay. Returns the count."""
    now = now or timezone.now()
    deleted = 0
    for tenant_id, days in Tenant.objects.values_list("pk", "retention_days"):
        cutoff = now - timedelta(days=days)
        count, _ = Occupancy.objects.filter(
            tenant_id=tenant_id, left_at__isnull=False, left_at__lt=cutoff
        ).delete()
        deleted += count
    return deleted


def room_size_url(deployment: JitsiDeployment, room_name: str) -> str:
    """Prosody's `mod_muc_size` URL for a room as events name it (`room1`, `[acme]room2`, `m%c3%bcller`).

    Tenant rooms are asked by their node plus `subdomain=<tenant>`. The module URL-decodes the query once, so
    the already percent-encoded name is encoded again (`m%25c3%25bcller`), which `urlencode` does."""
    ref = ev.RoomRef(room_name=room_name, room_jid="", is_breakout=False)
    params = {"room": ref.node, "domain": deployment.xmpp_domain}
    if ref.tenant_segment:
        params["subdomain"] = ref.tenant_segment
    return f"{deployment.room_api_url.rstrip('/')}/room-size?{urlencode(params)}"
