"""Rooms (one Jitsi room each) under a tenant."""

from __future__ import annotations

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant

room_name_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$",
    _("Use lowercase letters, digits and hyphens (Jitsi room names), at most 100 characters."),
)


class RoomQuerySet(models.QuerySet["Room"]):
    def of_tenant(self, tenant: Tenant) -> RoomQuerySet:
        return self.filter(tenant=tenant)

    def active(self) -> RoomQuerySet:
        return self.filter(archived=False)


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
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
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

    objects = RoomQuerySet.as_manager()

    class Meta:
        ordering = ["title"]
        constraints = [models.UniqueConstraint(fields=["tenant", "name"], name="room_name_unique_per_tenant")]

    def __str__(self) -> str:
        return self.title


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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "occupant_jid", "joined_at"], name="occupancy_unique_per_join"
            )
        ]
        indexes = [models.Index(fields=["tenant", "joined_at"], name="occupancy_tenant_joined_idx")]

    def __str__(self) -> str:
        return f"{self.occupant_jid} {self.joined_at} to {self.left_at or '…'}"
