"""A room's live stream: where the media server takes it (path and publish secret) and who may watch it."""

from __future__ import annotations

import secrets

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from meetings.models import Room, new_code
from tenants.fields import SealedTextField
from tenants.models import Tenant

PATH_LENGTH = 20  # base32: 100 bits, so a stream's HLS address cannot be guessed from the room


def new_stream_path() -> str:
    return new_code(PATH_LENGTH)


def new_publish_secret() -> str:
    return secrets.token_urlsafe(32)


class RoomStream(models.Model):
    """One per room that has streamed (or may stream). The path names the stream on the media server (RTMP
    stream name, HLS folder) across all tenants; the secret is what the publisher must present."""

    class Audience(models.TextChoices):
        MEMBERS = "members", _("Those who may join the room")
        LINK = "link", _("Anyone with the link to the stream page")
        PUBLIC = "public", _("Everyone, also with the playlist address alone")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    room = models.OneToOneField(Room, on_delete=models.CASCADE, related_name="stream")
    path = models.CharField(max_length=40, unique=True, default=new_stream_path, editable=False)
    secret = SealedTextField(default=new_publish_secret, editable=False)
    audience = models.CharField(
        _("who may watch"), max_length=10, choices=Audience.choices, default=Audience.MEMBERS
    )
    offer_instead = models.BooleanField(
        _("offer the stream on the join page"),
        default=False,
        help_text=_("For large lectures: most people watch, only some join the meeting."),
    )
    offer_when_count = models.PositiveIntegerField(
        _("offer the stream from this many people in the meeting"),
        null=True,
        blank=True,
        validators=[MinValueValidator(1), MaxValueValidator(100_000)],
    )
    # Bumped when who may watch changes: viewing passes of an earlier epoch stop working.
    pass_epoch = models.PositiveIntegerField(default=0)
    live_since = models.DateTimeField(null=True, blank=True)
    key_rotated_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(offer_when_count__isnull=True) | models.Q(offer_when_count__gte=1),
                name="stream_offer_count_positive",
            )
        ]

    def __str__(self) -> str:
        return f"stream of {self.room_id}"

    @property
    def is_live(self) -> bool:
        return self.live_since is not None


class StreamSession(models.Model):
    """One publication, from the media server's `publish` to its `publish_done`."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    stream = models.ForeignKey(RoomStream, on_delete=models.CASCADE, related_name="sessions")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    # The media server's idea of the publisher (Jibri's address); not a person's.
    publisher_addr = models.CharField(max_length=64, blank=True)
    # The media server's connection id (nginx-rtmp's `clientid`): its `publish_done` names the publication by
    # it.
    publisher_id = models.CharField(max_length=64, blank=True)
    server = models.CharField(max_length=20, default="nginx-rtmp")

    class Meta:
        ordering = ["-started_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["stream"], condition=models.Q(ended_at__isnull=True), name="one_open_stream_session"
            )
        ]

    def __str__(self) -> str:
        return f"{self.stream_id} from {self.started_at}"
