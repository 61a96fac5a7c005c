"""Recordings from Jibri, and the resumable uploads (tus) that bring them in."""

from __future__ import annotations

import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from meetings.models import TITLE_MAX_LENGTH, LectureSeries, MeetingSession, Room, new_code
from tenants.models import JitsiDeployment, Tenant


def recording_code() -> str:
    return new_code(16)


def upload_id() -> str:
    return secrets.token_hex(16)


class Recording(models.Model):
    """One Jibri recording of a room: the file (in the "recordings" storage), its poster, who may watch it."""

    class Visibility(models.TextChoices):
        HOSTS = "hosts", _("Hosts only")
        MEMBERS = "members", _("Members of the institution")
        LINK = "link", _("Anyone with the link")

    class Status(models.TextChoices):
        PROCESSING = "processing", _("Processing")
        READY = "ready", _("Ready")
        FAILED = "failed", _("Could not be processed")

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="recordings")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="recordings")
    # Opaque code for URLs (never a sequential id).
    code = models.CharField(max_length=16, default=recording_code, editable=False)
    title = models.CharField(_("title"), max_length=TITLE_MAX_LENGTH)
    session = models.ForeignKey(
        MeetingSession, null=True, blank=True, on_delete=models.SET_NULL, related_name="recordings"
    )
    series = models.ForeignKey(
        LectureSeries, null=True, blank=True, on_delete=models.SET_NULL, related_name="recordings"
    )
    lecture_start = models.DateTimeField(null=True, blank=True)  # the lecture's original start (its key)
    visibility = models.CharField(
        _("who may watch"), max_length=10, choices=Visibility.choices, default=Visibility.HOSTS
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PROCESSING)
    # Where the uploaded file waits (under RECORDINGS_UPLOAD_DIR) until the worker has copied it to storage.
    spool_name = models.CharField(max_length=200, blank=True)
    file = models.CharField(max_length=300, blank=True)  # the name in RECORDINGS_STORAGE
    poster = models.CharField(max_length=300, blank=True)
    size_bytes = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64)
    duration_seconds = models.FloatField(null=True, blank=True)
    web_friendly = models.BooleanField(default=False)
    started_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField()
    participant_count = models.PositiveIntegerField(null=True, blank=True)
    keep_until = models.DateField(_("keep until"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-ended_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "code"], name="recording_code_unique_per_tenant")
        ]
        indexes = [models.Index(fields=["tenant", "room", "ended_at"], name="recording_room_idx")]

    def __str__(self) -> str:
        return self.title


class Upload(models.Model):
    """A tus upload in progress. The bytes received so far are in `RECORDINGS_UPLOAD_DIR/<id>.part`; `offset`
    counts only those stored and verified, so a restart resumes exactly there."""

    class Kind(models.TextChoices):
        VIDEO = "video", "video"
        METADATA = "metadata", "metadata"

    id = models.CharField(primary_key=True, max_length=32, default=upload_id, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="+")
    deployment = models.ForeignKey(JitsiDeployment, on_delete=models.CASCADE, related_name="+")
    room = models.ForeignKey(Room, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    length = models.PositiveBigIntegerField()
    offset = models.PositiveBigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)  # of the whole file, when the client said
    filename = models.CharField(max_length=200, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    # For a video: the completed metadata.json upload of the same Jibri session, if any.
    metadata_upload = models.CharField(max_length=32, blank=True)
    # For a completed metadata upload: what was read from metadata.json (never used for authorisation).
    details = models.JSONField(default=dict, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"upload {self.id} ({self.offset}/{self.length})"

    @property
    def part_name(self) -> str:
        return f"{self.id}.part"
