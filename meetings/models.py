"""Rooms (one Jitsi room each) under a tenant."""

from __future__ import annotations

import secrets
from typing import Any

from django.conf import settings
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from portal.signals import bulk_updated
from tenants.models import Tenant
from tenants.scoping import TenantScopedManager

BASE32_LOWER = "abcdefghijklmnopqrstuvwxyz234567"
MAX_OCCURRENCES = 200
# Limits of the free text people type (forms and serializers use the same ones).
TITLE_MAX_LENGTH = 200  # room and series titles: one line
NOTE_MAX_LENGTH = 200  # a note on a cancelled or moved lecture
DESCRIPTION_MAX_LENGTH = 5000  # a room's description (TextField: the database does not enforce it)

room_name_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$",
    _("Use lowercase letters, digits and hyphens (Jitsi room names), at most 100 characters."),
)


class RoomQuerySet(models.QuerySet["Room"]):
    def of_tenant(self, tenant: Tenant) -> RoomQuerySet:
        return self.filter(tenant=tenant)

    def update(self, **kwargs: Any) -> int:
        """Bulk updates skip post_save: tell the per-process room caches (meetings/joincache.py)."""
        rows = list(self.values("tenant_id", "name"))
        count = super().update(**kwargs)
        bulk_updated.send(sender=Room, rows=rows)
        return count

    def active(self) -> RoomQuerySet:
        return self.filter(archived=False)


RoomManager = TenantScopedManager.from_queryset(RoomQuerySet)


class Room(models.Model):
    class Access(models.TextChoices):
        TENANT = "tenant", _("Signed-in members of the institution")
        LINK = "link", _("Anyone with the link")
        INVITE = "invite", _("Invited people only")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="rooms")
    # Null only for anonymous public meetings (/new/), which have no account behind them.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="owned_rooms"
    )
    co_hosts = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="co_hosted_rooms")
    invitees = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="invited_rooms")
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    description = models.TextField(
        _("description"),
        blank=True,
        max_length=DESCRIPTION_MAX_LENGTH,
        validators=[MaxLengthValidator(DESCRIPTION_MAX_LENGTH)],
    )
    name = models.CharField(
        _("Jitsi room name"),
        max_length=100,
        validators=[room_name_validator],
        help_text=_("Part of the link. Unguessable unless you choose a public name."),
    )
    access = models.CharField(
        _("who may enter"), max_length=10, choices=Access.choices, default=Access.TENANT
    )
    lobby = models.BooleanField(_("lobby"), default=False)
    access_code_hash = models.CharField(max_length=200, blank=True)
    allow_recording = models.BooleanField(_("recording"), default=False)
    allow_livestreaming = models.BooleanField(_("live streaming"), default=False)
    allow_participant_screen_sharing = models.BooleanField(_("screen sharing for participants"), default=True)
    is_anonymous = models.BooleanField(default=False, help_text=_("Created at /new/ without an account."))
    archived = models.BooleanField(_("archived"), default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    objects = RoomManager()  # tenants/scoping.py

    class Meta:
        ordering = ["title"]
        # Every lookup by name is within a tenant (meetings/access.py): this index serves them all.
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="room_name_unique_per_tenant")]

    def __str__(self) -> str:
        return self.title

    @property
    def join_path(self) -> str:
        """The join page (served by meetings:join); a path so it works on the tenant's own host too."""
        return f"/{self.tenant.slug}/r/{self.name}/"


def new_code(length: int = 10) -> str:
    """An unguessable lowercase base32 code: URL- and Jitsi-safe, case-insensitive."""
    return "".join(secrets.choice(BASE32_LOWER) for _ in range(length))


def new_feed_token() -> str:
    return secrets.token_urlsafe(24)


class LectureSeries(models.Model):
    """Recurring lectures in one room: weekly (every n weeks) on given weekdays, until a date or a count.

    Times are wall-clock times in `time_zone`, so 10:15 stays 10:15 across the clock changes."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="lecture_series")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="series")
    # Opaque code for URLs: never a sequential id (DESIGN: tenant isolation).
    code = models.CharField(max_length=16, default=new_code, editable=False)
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    first_date = models.DateField(_("first lecture"))
    start_time = models.TimeField(_("starts at"))
    duration_minutes = models.PositiveSmallIntegerField(
        _("duration (minutes)"), validators=[MinValueValidator(5), MaxValueValidator(600)]
    )
    interval_weeks = models.PositiveSmallIntegerField(
        _("every n weeks"), default=1, validators=[MinValueValidator(1), MaxValueValidator(52)]
    )
    # Python weekday numbers (Monday = 0); empty means the weekday of the first lecture.
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)
    until = models.DateField(_("last possible date"), null=True, blank=True)
    count = models.PositiveSmallIntegerField(
        _("number of lectures"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(MAX_OCCURRENCES)],
    )
    time_zone = models.CharField(_("time zone"), max_length=64)
    join_opens_minutes = models.PositiveSmallIntegerField(
        _("room opens (minutes before start)"), default=15, validators=[MaxValueValidator(240)]
    )
    grace_minutes = models.PositiveSmallIntegerField(
        _("room stays open (minutes after end)"), default=15, validators=[MaxValueValidator(240)]
    )
    # Secret of the subscribable feed of this series; rotating it makes the old URL answer 404.
    feed_token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)
    # Bumped on every change: the SEQUENCE of the feed's events, so calendar clients take updates.
    revision = models.PositiveIntegerField(default=0)
    # Lectures on the institution's holidays (AcademicPeriod) are cancelled by the calendar, except the
    # ones a host chose to hold anyway (their keys, see recurrence.Occurrence.key).
    skip_holidays = models.BooleanField(_("skip the institution's holidays"), default=True)
    calendar_exceptions = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()  # tenants/scoping.py

    class Meta:
        ordering = ["first_date", "start_time"]
        verbose_name = _("lecture series")
        verbose_name_plural = _("lecture series")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="series_code_unique_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(duration_minutes__gte=5, duration_minutes__lte=600),
                name="series_duration_5_to_600",
            ),
            models.CheckConstraint(
                condition=models.Q(count__isnull=True) | models.Q(count__gte=1, count__lte=MAX_OCCURRENCES),
                name="series_count_1_to_200",
            ),
        ]

    def __str__(self) -> str:
        return self.title


class OccurrenceChange(models.Model):
    """One lecture of a series cancelled or moved; keyed by the lecture's original start (UTC)."""

    class Kind(models.TextChoices):
        CANCELLED = "cancelled", _("Cancelled")
        MOVED = "moved", _("Moved")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    series = models.ForeignKey(LectureSeries, on_delete=models.CASCADE, related_name="changes")
    original_start = models.DateTimeField()
    kind = models.CharField(max_length=10, choices=Kind.choices)
    new_start = models.DateTimeField(null=True, blank=True)
    new_duration_minutes = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(5), MaxValueValidator(600)]
    )
    note = models.CharField(_("note"), max_length=NOTE_MAX_LENGTH, blank=True)
    # Cancelled because the day is a holiday of the academic calendar (not by a person): re-synced when
    # the calendar or the series changes.
    from_calendar = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()  # tenants/scoping.py

    class Meta:
        ordering = ["original_start"]
        constraints = [
            models.UniqueConstraint(fields=["series", "original_start"], name="one_change_per_lecture"),
            models.CheckConstraint(
                condition=models.Q(kind="cancelled") | models.Q(new_start__isnull=False),
                name="moved_lecture_has_new_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.series} {self.original_start:%Y-%m-%d %H:%M} {self.kind}"


class AcademicPeriod(models.Model):
    """A stretch of the institution's academic year, kept by its admins: a semester (a default end for
    lecture series) or a holiday or break (lecture series skip it unless told otherwise)."""

    class Kind(models.TextChoices):
        SEMESTER = "semester", _("Semester")
        HOLIDAY = "holiday", _("Holiday or break")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="academic_periods")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices, default=Kind.HOLIDAY)
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    first_day = models.DateField(_("first day"))
    last_day = models.DateField(_("last day"))
    code = models.CharField(max_length=16, default=new_code, editable=False)

    class Meta:
        ordering = ["first_day", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="period_code_unique_per_tenant"),
            models.CheckConstraint(
                condition=models.Q(last_day__gte=models.F("first_day")), name="period_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} {self.first_day} to {self.last_day}"


class Follow(models.Model):
    """A member follows a lecture series open to the whole institution: it joins their personal feed."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="follows")
    series = models.ForeignKey(LectureSeries, on_delete=models.CASCADE, related_name="followers")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "series"], name="follow_once")]

    def __str__(self) -> str:
        return f"{self.user} follows {self.series}"


class PersonalFeed(models.Model):
    """A person's subscribable calendar of the lectures they host, are invited to or follow, in one tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="lecture_feeds")
    token = models.CharField(max_length=64, unique=True, default=new_feed_token, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TenantScopedManager()  # tenants/scoping.py

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["tenant", "user"], name="one_personal_feed_per_tenant")
        ]

    def __str__(self) -> str:
        return f"feed of {self.user} in {self.tenant}"


class MeetingSession(models.Model):
    """One life of a Jitsi room, from `muc-room-created` to `muc-room-destroyed`, as Prosody reported it.

    Keyed by the deployment and the room's internal name (`room1`, `[acme]room2`, `m%c3%bcller`) so that rooms
    auditorium does not know are counted too; `room` is set when the name is one of the tenant's rooms. At
    most one session per deployment and name is open (not destroyed) at a time. The aggregates stay when
    occupancies are purged."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="meeting_sessions")
    deployment = models.ForeignKey(
        "tenants.JitsiDeployment", on_delete=models.CASCADE, related_name="meeting_sessions"
    )
    room = models.ForeignKey(
        Room, null=True, blank=True, on_delete=models.SET_NULL, related_name="meeting_sessions"
    )
    room_name = models.CharField(max_length=300)
    is_breakout = models.BooleanField(default=False)
    # From the events; null while the event carrying them has not arrived (events come out of order).
    created_at = models.DateTimeField(null=True, blank=True)
    destroyed_at = models.DateTimeField(null=True, blank=True)
    current_count = models.PositiveIntegerField(default=0)
    # The event time the current count stems from: older events may not overwrite it.
    count_as_of = models.DateTimeField(null=True, blank=True)
    peak_participants = models.PositiveIntegerField(default=0)
    participant_seconds = models.PositiveBigIntegerField(default=0)
    # Bumped on every change of current_count: live viewers keep the newest (session id, version).
    version = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TenantScopedManager()  # tenants/scoping.py

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "room_name"],
                condition=models.Q(destroyed_at__isnull=True),
                name="one_open_session_per_room",
            ),
            models.UniqueConstraint(
                fields=["deployment", "room_name", "created_at"], name="session_unique_per_creation"
            ),
        ]
        indexes = [models.Index(fields=["tenant", "room", "destroyed_at"], name="session_tenant_room_idx")]

    def __str__(self) -> str:
        return f"{self.room_name} since {self.created_at}"

    @property
    def is_open(self) -> bool:
        return self.destroyed_at is None

    @property
    def participant_minutes(self) -> float:
        return round(self.participant_seconds / 60, 1)


class Occupancy(models.Model):
    """One connection of one person to a room (a reconnect is a new occupant, as in Prosody).

    Holds only what the event carries: the session JID and the times. Names and e-mail addresses from the
    event are not stored; `occupant.id` (auditorium's opaque user id, or whatever the token said) is kept
    to tell reconnects of one person apart from different people. Purged after the tenant's retention
    period."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="occupancies")
    deployment = models.ForeignKey(
        "tenants.JitsiDeployment", on_delete=models.CASCADE, related_name="occupancies"
    )
    session = models.ForeignKey(MeetingSession, on_delete=models.CASCADE, related_name="occupancies")
    occupant_jid = models.CharField(max_length=500)
    joined_at = models.DateTimeField()
    left_at = models.DateTimeField(null=True, blank=True)
    participant_id = models.CharField(max_length=200, blank=True)

    objects = TenantScopedManager()  # tenants/scoping.py

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "occupant_jid", "joined_at"], name="occupancy_unique_per_join"
            )
        ]
        indexes = [models.Index(fields=["tenant", "joined_at"], name="occupancy_tenant_joined_idx")]

    def __str__(self) -> str:
        return f"{self.occupant_jid} {self.joined_at} to {self.left_at or '…'}"
