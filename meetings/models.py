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
