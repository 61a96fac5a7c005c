"""State changes of rooms, lecture series and calendar feeds.

Views, admin and commands call these; each runs in one transaction and writes an audit row. Invariants that
a person can get wrong (a co-host who is not a member, a lecture that does not exist) raise ValidationError
with a message meant for that person."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.text import slugify
from django.utils.translation import gettext as _

from meetings import academic, recurrence
from meetings.access import hash_access_code, is_current_hash, set_access_code
from meetings.models import (
    Follow,
    LectureSeries,
    OccurrenceChange,
    PersonalFeed,
    Room,
    new_code,
    new_feed_token,
    room_name_validator,
)
from tenants.models import Membership, Tenant, User
from tenants.services import audit

ROOM_FIELDS = (
    "title",
    "description",
    "access",
    "lobby",
    "allow_recording",
    "allow_livestreaming",
    "allow_participant_screen_sharing",
)
# Path segments under rooms/ that are pages, not rooms.
RESERVED_ROOM_NAMES = frozenset({"new"})
SERIES_FIELDS = (
    "title",
    "first_date",
    "start_time",
    "duration_minutes",
    "interval_weeks",
    "weekdays",
    "until",
    "count",
    "time_zone",
    "join_opens_minutes",
    "grace_minutes",
)
# Set by the pages and the API besides SERIES_FIELDS (the forms ask it the other way round).
SERIES_OPTIONS = ("skip_holidays",)


def generated_room_name(title: str) -> str:
    """Readable start, unguessable end: `intro-to-law-k3m9x2qa7b` (50 bits of randomness)."""
    stem = slugify(title).encode("ascii", "ignore").decode()[:40].strip("-") or "room"
    return f"{stem}-{new_code(10)}"


def check_public_name(tenant: Tenant, name: str) -> str:
    """The rules for a chosen room name (pages and API): the same checks, the same messages."""
    if name != name.lower():
        raise ValidationError(_("Use lowercase letters only."))
    room_name_validator(name)
    if len(name) < 3:
        raise ValidationError(_("A public name needs at least 3 characters."))
    if name in RESERVED_ROOM_NAMES:
        raise ValidationError(_("“%(name)s” is used by the portal itself.") % {"name": name})
    if Room.objects.filter(tenant=tenant, name=name).exists():
        raise ValidationError(_("The name “%(name)s” is already taken.") % {"name": name})
    return name


def member_by_email(tenant: Tenant, email: str, *, hosts_only: bool = False) -> User:
    """The unblocked member of `tenant` with this e-mail address, or a ValidationError saying why not."""
    email = (email or "").strip()
    memberships = Membership.objects.filter(
        tenant=tenant, is_blocked=False, user__email__iexact=email, user__is_active=True
    ).select_related("user")
    if hosts_only:
        memberships = memberships.filter(role__in=[Membership.Role.HOST, Membership.Role.ADMIN])
    found = list(memberships[:2])
    if not found:
        if hosts_only:
            raise ValidationError(
                _("%(email)s is not a lecturer (host) of %(tenant)s.")
                % {"email": email, "tenant": tenant.name}
            )
        raise ValidationError(
            _("%(email)s is not a member of %(tenant)s. People appear here after their first sign-in.")
            % {"email": email, "tenant": tenant.name}
        )
    if len(found) > 1:
        raise ValidationError(_("Several people share %(email)s; ask an administrator.") % {"email": email})
    return found[0].user


# Rooms -----------------------------------------------------------------------------------------


@transaction.atomic
def create_room(
    *, actor: User, tenant: Tenant, title: str, public_name: str = "", access_code: str = "", **settings: Any
) -> Room:
    unknown = set(settings) - set(ROOM_FIELDS)
    if unknown:
        raise TypeError(f"unknown room fields: {sorted(unknown)}")
    if public_name:
        room_name_validator(public_name)
        if public_name in RESERVED_ROOM_NAMES:
            raise ValidationError(_("“%(name)s” is used by the portal itself.") % {"name": public_name})
        if Room.objects.filter(tenant=tenant, name=public_name).exists():
            raise ValidationError(_("The name “%(name)s” is already taken.") % {"name": public_name})
    for _attempt in range(5):
        room = Room(
            tenant=tenant,
            owner=actor,
            title=title,
            name=public_name or generated_room_name(title),
            **settings,
        )
        if access_code.strip():
            set_access_code(room, access_code)
        room.full_clean(exclude=["owner", "tenant"], validate_constraints=False)
        try:
            with transaction.atomic():
                room.save()
        except IntegrityError:
            if public_name:
                raise ValidationError(
                    _("The name “%(name)s” is already taken.") % {"name": public_name}
                ) from None
            continue  # a random name collided (vanishingly rare): draw another
        audit(tenant=tenant, actor=actor, action="room.created", target=room.name, title=title)
        return room
    raise RuntimeError("could not draw a free room name")


@transaction.atomic
def create_room_with_series(
    *, actor: User, tenant: Tenant, room_fields: dict[str, Any], series_fields: dict[str, Any]
) -> tuple[Room, LectureSeries]:
    """The new-room page with "weekly lectures" ticked: the room and its series, both or neither."""
    room = create_room(actor=actor, tenant=tenant, **room_fields)
    series = schedule_series(actor=actor, room=room, **series_fields)
    return room, series


@transaction.atomic
def update_room(
    *,
    actor: User,
    room: Room,
    access_code: str | None = None,
    clear_access_code: bool = False,
    **changes: Any,
) -> Room:
    """Change room settings; `access_code` sets a new code (stored hashed), `clear_access_code` removes it."""
    unknown = set(changes) - set(ROOM_FIELDS)
    if unknown:
        raise TypeError(f"unknown room fields: {sorted(unknown)}")
    fields = [f for f, v in changes.items() if getattr(room, f) != v]
    for f in fields:
        setattr(room, f, changes[f])
    if clear_access_code and room.access_code_hash:
        room.access_code_hash = ""
        fields.append("access_code_hash")
    elif access_code and access_code.strip():
        set_access_code(room, access_code)
        fields.append("access_code_hash")
    if fields:
        room.full_clean(exclude=["owner", "tenant"], validate_constraints=False)
        room.save(update_fields=fields)
        # Never the code itself in the audit log, only that it changed.
        audit(tenant=room.tenant, actor=actor, action="room.changed", target=room.name, fields=fields)
    return room


def upgrade_access_code_hash(*, room: Room, code: str) -> bool:
    """After `code` was entered right against a code stored by Django's password hashers: store it in the
    current format (meetings/access.py). No actor and no audit row: nobody changed anything. Only while the
    stored hash is still the one checked, so a code a host set meanwhile stays. True when rewritten."""
    old = room.access_code_hash
    if not old or is_current_hash(old):
        return False
    new = hash_access_code(code.strip())
    # One conditional UPDATE (atomic by itself); RoomQuerySet.update() tells the processes' room caches.
    if not Room.objects.filter(pk=room.pk, access_code_hash=old).update(access_code_hash=new):
        return False
    room.access_code_hash = new
    return True


@transaction.atomic
def archive_room(*, actor: User, room: Room) -> Room:
    if not room.archived:
        room.archived = True
        room.save(update_fields=["archived"])
        audit(tenant=room.tenant, actor=actor, action="room.archived", target=room.name)
    return room


@transaction.atomic
def transfer_room(*, actor: User, room: Room, email: str, keep_as_co_host: bool = True) -> Room:
    """Hand the room to another host of the tenant; the previous owner may stay as co-host."""
    room = Room.objects.select_for_update().get(pk=room.pk)
    new_owner = member_by_email(room.tenant, email, hosts_only=True)
    previous = room.owner
    if previous is not None and new_owner.pk == previous.pk:
        raise ValidationError(_("%(email)s already owns this room.") % {"email": email})
    room.owner = new_owner
    room.save(update_fields=["owner"])
    room.co_hosts.remove(new_owner)
    if keep_as_co_host and previous is not None:
        room.co_hosts.add(previous)
    audit(
        tenant=room.tenant,
        actor=actor,
        action="room.transferred",
        target=room.name,
        previous_owner=previous.username if previous else None,
        new_owner=new_owner.username,
    )
    return room


def _member(room: Room, email: str | None, user: User | None) -> User:
    """The person named by e-mail (pages) or given directly (API); a member of the room's tenant."""
    if user is None:
        return member_by_email(room.tenant, email or "")
    if not Membership.objects.filter(user=user, tenant=room.tenant, is_blocked=False).exists():
        raise ValidationError(_("This person is not a member of %(tenant)s.") % {"tenant": room.tenant.name})
    return user


@transaction.atomic
def add_co_host(*, actor: User, room: Room, email: str | None = None, user: User | None = None) -> User:
    """Co-hosts must be members of the room's tenant; they need not be lecturers."""
    user = _member(room, email, user)
    if user.pk == room.owner_id:
        raise ValidationError(_("%(email)s owns this room already.") % {"email": user.email})
    room.co_hosts.add(user)
    audit(tenant=room.tenant, actor=actor, action="room.co_host_added", target=room.name, user=user.username)
    return user


@transaction.atomic
def remove_co_host(*, actor: User, room: Room, user: User) -> None:
    room.co_hosts.remove(user)
    audit(
        tenant=room.tenant, actor=actor, action="room.co_host_removed", target=room.name, user=user.username
    )


@transaction.atomic
def add_invitee(*, actor: User, room: Room, email: str | None = None, user: User | None = None) -> User:
    user = _member(room, email, user)
    room.invitees.add(user)
    audit(tenant=room.tenant, actor=actor, action="room.invitee_added", target=room.name, user=user.username)
    return user


@transaction.atomic
def remove_invitee(*, actor: User, room: Room, user: User) -> None:
    room.invitees.remove(user)
    audit(
        tenant=room.tenant, actor=actor, action="room.invitee_removed", target=room.name, user=user.username
    )


# Lecture series --------------------------------------------------------------------------------


def _check_series(series: LectureSeries) -> None:
    series.full_clean(exclude=["tenant", "room", "created_by"], validate_constraints=False)
    weekdays = series.weekdays
    if not isinstance(weekdays, list) or any(type(d) is not int or not 0 <= d <= 6 for d in weekdays):
        raise ValidationError({"weekdays": _("Weekdays are numbers from 0 (Monday) to 6 (Sunday).")})
    if series.until and series.until < series.first_date:
        raise ValidationError({"until": _("The last date must not be before the first lecture.")})
    if series.until and series.count:
        raise ValidationError(_("Give either a last date or a number of lectures, not both."))
    if not recurrence.has_any(series):
        raise ValidationError(_("These settings give no lecture at all; check the weekdays and the end."))


@transaction.atomic
def schedule_series(*, actor: User, room: Room, **fields: Any) -> LectureSeries:
    unknown = set(fields) - set(SERIES_FIELDS) - set(SERIES_OPTIONS)
    if unknown:
        raise TypeError(f"unknown series fields: {sorted(unknown)}")
    fields.setdefault("time_zone", room.tenant.time_zone)
    if not fields.get("title"):
        fields["title"] = room.title
    series = LectureSeries(tenant=room.tenant, room=room, created_by=actor, **fields)
    _check_series(series)
    series.save()
    academic.sync_series(series)
    audit(
        tenant=room.tenant,
        actor=actor,
        action="series.scheduled",
        target=room.name,
        series=series.code,
        first_date=series.first_date.isoformat(),
    )
    return series


@transaction.atomic
def change_series(*, actor: User, series: LectureSeries, **changes: Any) -> LectureSeries:
    """Change the rule; cancellations and moves of lectures the new rule no longer has are dropped."""
    unknown = set(changes) - set(SERIES_FIELDS) - set(SERIES_OPTIONS)
    if unknown:
        raise TypeError(f"unknown series fields: {sorted(unknown)}")
    fields = [f for f, v in changes.items() if getattr(series, f) != v]
    if not fields:
        return series
    for f in fields:
        setattr(series, f, changes[f])
    _check_series(series)
    series.revision += 1
    series.save(update_fields=[*fields, "revision"])
    stale = [c.pk for c in series.changes.all() if not recurrence.is_rule_start(series, c.original_start)]
    if stale:
        OccurrenceChange.objects.filter(pk__in=stale).delete()
    academic.sync_series(series)
    audit(
        tenant=series.tenant,
        actor=actor,
        action="series.changed",
        target=series.room.name,
        series=series.code,
        fields=fields,
        dropped_changes=len(stale),
    )
    return series


@transaction.atomic
def delete_series(*, actor: User, series: LectureSeries) -> None:
    audit(
        tenant=series.tenant,
        actor=actor,
        action="series.deleted",
        target=series.room.name,
        series=series.code,
    )
    series.delete()


def _lecture(series: LectureSeries, original_start: datetime) -> datetime:
    if not recurrence.is_rule_start(series, original_start):
        raise ValidationError(_("This series has no lecture at that time."))
    return original_start


@transaction.atomic
def cancel_occurrence(
    *, actor: User, series: LectureSeries, original_start: datetime, note: str = ""
) -> OccurrenceChange:
    """Cancel one lecture (a moved one too: it is then cancelled at its original identity)."""
    original_start = _lecture(series, original_start)
    change, _created = OccurrenceChange.objects.update_or_create(
        series=series,
        original_start=original_start,
        defaults={
            "tenant": series.tenant,
            "kind": OccurrenceChange.Kind.CANCELLED,
            "new_start": None,
            "new_duration_minutes": None,
            "note": note[:200],
            "from_calendar": False,
        },
    )
    _bump(series)
    audit(
        tenant=series.tenant,
        actor=actor,
        action="series.lecture_cancelled",
        target=series.room.name,
        series=series.code,
        lecture=original_start.isoformat(),
    )
    return change


@transaction.atomic
def restore_occurrence(*, actor: User, series: LectureSeries, original_start: datetime) -> None:
    """Undo a cancellation or a move: the lecture takes place as the rule says, on a holiday too (the
    calendar then leaves it alone)."""
    rows = OccurrenceChange.objects.filter(series=series, original_start=original_start)
    on_holiday = rows.filter(from_calendar=True).exists()
    deleted, _rows = rows.delete()
    if on_holiday:
        key = original_start.astimezone(UTC).strftime(recurrence.KEY_FORMAT)
        series.calendar_exceptions = sorted({*(series.calendar_exceptions or []), key})
        series.save(update_fields=["calendar_exceptions"])
    if deleted:
        _bump(series)
        audit(
            tenant=series.tenant,
            actor=actor,
            action="series.lecture_restored",
            target=series.room.name,
            series=series.code,
            lecture=original_start.isoformat(),
        )


@transaction.atomic
def move_occurrence(
    *,
    actor: User,
    series: LectureSeries,
    original_start: datetime,
    new_date: date,
    new_time: time,
    new_duration_minutes: int | None = None,
    note: str = "",
) -> OccurrenceChange:
    """Move one lecture to another wall-clock time in the series' time zone."""
    original_start = _lecture(series, original_start)
    tz = recurrence.zone(series.time_zone)
    if not recurrence.exists_locally(new_date, new_time, tz):
        raise ValidationError(_("That time does not exist on that day: the clocks change then."))
    new_start = recurrence.localize(new_date, new_time, tz)
    change, _created = OccurrenceChange.objects.update_or_create(
        series=series,
        original_start=original_start,
        defaults={
            "tenant": series.tenant,
            "kind": OccurrenceChange.Kind.MOVED,
            "new_start": new_start,
            "new_duration_minutes": new_duration_minutes,
            "note": note[:200],
            "from_calendar": False,
        },
    )
    change.full_clean(exclude=["tenant", "series"], validate_constraints=False)
    _bump(series)
    audit(
        tenant=series.tenant,
        actor=actor,
        action="series.lecture_moved",
        target=series.room.name,
        series=series.code,
        lecture=original_start.isoformat(),
        new_start=new_start.isoformat(),
    )
    return change


def _bump(series: LectureSeries) -> None:
    series.revision += 1
    series.save(update_fields=["revision"])


# Following institution-wide lecture series (for the personal feed) ----------------------------


@transaction.atomic
def follow_series(*, actor: User, series: LectureSeries) -> Follow:
    """Add an institution-wide series to the actor's personal feed (and make sure they have one)."""
    if series.room.access != Room.Access.TENANT or series.room.archived:
        raise ValidationError(_("Only lectures open to the whole institution can be followed."))
    follow, created = Follow.objects.get_or_create(tenant=series.tenant, user=actor, series=series)
    PersonalFeed.objects.get_or_create(tenant=series.tenant, user=actor)
    if created:
        audit(
            tenant=series.tenant,
            actor=actor,
            action="series.followed",
            target=series.room.name,
            series=series.code,
        )
    return follow


@transaction.atomic
def unfollow_series(*, actor: User, series: LectureSeries) -> None:
    deleted, _rows = Follow.objects.filter(user=actor, series=series).delete()
    if deleted:
        audit(
            tenant=series.tenant,
            actor=actor,
            action="series.unfollowed",
            target=series.room.name,
            series=series.code,
        )


# Calendar feeds --------------------------------------------------------------------------------


@transaction.atomic
def rotate_feed_token(*, actor: User, series: LectureSeries) -> LectureSeries:
    """A new secret for the series feed: the old URL answers 404 from now on."""
    series.feed_token = new_feed_token()
    series.save(update_fields=["feed_token"])
    audit(
        tenant=series.tenant,
        actor=actor,
        action="series.feed_rotated",
        target=series.room.name,
        series=series.code,
    )
    return series


@transaction.atomic
def ensure_personal_feed(*, actor: User, tenant: Tenant) -> PersonalFeed:
    feed, _created = PersonalFeed.objects.get_or_create(tenant=tenant, user=actor)
    return feed


@transaction.atomic
def rotate_personal_feed(*, actor: User, tenant: Tenant) -> PersonalFeed:
    feed, created = PersonalFeed.objects.get_or_create(tenant=tenant, user=actor)
    if not created:
        feed.token = new_feed_token()
        feed.save(update_fields=["token"])
    audit(tenant=tenant, actor=actor, action="feed.personal_rotated", target=actor.username)
    return feed
