"""State changes of recordings and their uploads. The tus endpoint, the worker, pages, the API and the purge
command call these; each person's change writes an audit row (tenants.services.audit)."""

from __future__ import annotations

import logging
import os
from datetime import date, datetime, timedelta, tzinfo
from functools import partial

from django.conf import settings
from django.db import transaction
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from meetings.models import MeetingSession, Room
from meetings.recordings import enqueue, storage
from meetings.recordings.models import Recording, Upload
from tenants.models import JitsiDeployment, Tenant, User
from tenants.services import audit

log = logging.getLogger(__name__)

METADATA_MAX_BYTES = 256 * 1024
GB = 1000**3


class QuotaExceeded(Exception):
    pass


def quota_bytes(tenant: Tenant) -> int:
    return int(tenant.recording_quota_gb) * GB


def bytes_in_use(tenant: Tenant) -> int:
    """Stored recordings plus the full announced length of every upload still under way."""
    stored = Recording.objects.filter(tenant=tenant).aggregate(total=Sum("size_bytes"))["total"] or 0
    pending = (
        Upload.objects.filter(tenant=tenant, completed_at__isnull=True).aggregate(total=Sum("length"))[
            "total"
        ]
        or 0
    )
    return int(stored) + int(pending)


@transaction.atomic
def start_upload(
    *,
    deployment: JitsiDeployment,
    room: Room,
    kind: str,
    length: int,
    sha256: str = "",
    filename: str = "",
    ended_at: datetime | None = None,
    metadata_upload: str = "",
) -> Upload:
    """A new tus upload for `room`. Refused (QuotaExceeded) when the tenant's storage would overflow."""
    tenant = Tenant.objects.select_for_update().get(pk=deployment.tenant_id)  # one quota check at a time
    if kind == Upload.Kind.VIDEO and bytes_in_use(tenant) + length > quota_bytes(tenant):
        raise QuotaExceeded
    upload = Upload.objects.create(
        tenant=tenant,
        deployment=deployment,
        room=room,
        kind=kind,
        length=length,
        sha256=sha256,
        filename=filename[:200],
        ended_at=ended_at,
        metadata_upload=metadata_upload,
    )
    storage.spool_path(upload.part_name).touch()
    return upload


def discard_upload(upload: Upload) -> None:
    """Termination (or a failed check): the row and every byte received go."""
    Upload.objects.filter(pk=upload.pk).delete()
    storage.spool_path(upload.part_name).unlink(missing_ok=True)


def _participant_count(details: dict[str, object]) -> int | None:
    count = details.get("participant_count")
    return count if isinstance(count, int) else None


def _default_title(room: Room, ended_at: datetime) -> str:
    local = timezone.localtime(ended_at, timezone=_zone(room.tenant))
    return f"{room.title} · {local:%Y-%m-%d %H:%M}"[:200]


def _zone(tenant: Tenant) -> tzinfo:
    from meetings.recurrence import zone

    return zone(tenant.time_zone)


@transaction.atomic
def complete_upload(
    *, upload: Upload, now: datetime, details: dict[str, object] | None = None
) -> Recording | None:
    """The last byte of an upload arrived (and verified). A metadata.json is kept on its row for the video
    that names it; a video becomes a Recording, moved out of the way of new uploads, and its processing
    job is enqueued in this same transaction."""
    upload = Upload.objects.select_for_update().select_related("room__tenant").get(pk=upload.pk)
    if upload.kind == Upload.Kind.METADATA:
        upload.details = details or {}
        upload.completed_at = now
        upload.save(update_fields=["completed_at", "details", "updated_at"])
        storage.spool_path(upload.part_name).unlink(missing_ok=True)
        return None
    received: dict[str, object] = {}
    if upload.metadata_upload:
        meta = Upload.objects.filter(
            pk=upload.metadata_upload, room=upload.room, kind=Upload.Kind.METADATA, completed_at__isnull=False
        ).first()
        if meta is not None:
            received = meta.details
            meta.delete()
    ended_at = upload.ended_at or now
    spool_name = f"{upload.id}.mp4"
    os.replace(storage.spool_path(upload.part_name), storage.spool_path(spool_name))
    recording = Recording.objects.create(
        tenant=upload.tenant,
        room=upload.room,
        title=_default_title(upload.room, ended_at),
        spool_name=spool_name,
        size_bytes=upload.length,
        sha256=upload.sha256,
        ended_at=ended_at,
        participant_count=_participant_count(received),
    )
    # Kept (complete) for a week: a client that lost our answer asks for the offset and sees it is done.
    upload.completed_at = now
    upload.save(update_fields=["completed_at", "updated_at"])
    audit(
        tenant=recording.tenant,
        actor=None,
        action="recording.received",
        target=recording.code,
        room=recording.room.name,
        size=recording.size_bytes,
    )
    enqueue.process_recording(recording.pk)
    return recording


def attach_context(recording: Recording) -> None:
    """The meeting session and the lecture the recording belongs to, from its times (set, not saved)."""
    from meetings.recurrence import occurrences

    if recording.duration_seconds:
        recording.started_at = recording.ended_at - timedelta(seconds=recording.duration_seconds)
    start = recording.started_at or recording.ended_at
    middle = start + (recording.ended_at - start) / 2
    recording.session = (
        MeetingSession.objects.filter(tenant=recording.tenant, room=recording.room, created_at__lte=middle)
        .filter(Q(destroyed_at__isnull=True) | Q(destroyed_at__gte=middle))
        .order_by("-created_at")
        .first()
    )
    best: tuple[timedelta, object, datetime] | None = None
    for series in recording.room.series.all():
        margin = timedelta(minutes=series.join_opens_minutes + series.grace_minutes)
        for lecture in occurrences(
            series, start=start - margin, end=recording.ended_at + margin, include_cancelled=False
        ):
            overlap = min(lecture.end, recording.ended_at) - max(lecture.start, start)
            if best is None or overlap > best[0]:
                best = (overlap, series, lecture.original_start)
    if best is not None and best[0] > -timedelta(minutes=30):
        recording.series = best[1]  # type: ignore[assignment]  # a LectureSeries, typed loosely in the tuple
        recording.lecture_start = best[2]


def lecture_number(recording: Recording) -> int | None:
    """Which lecture of its series this was (1-based), for "Lecture 5, Mon 12 Jan"."""
    from meetings.recurrence import rule_starts

    if recording.series is None or recording.lecture_start is None:
        return None
    for number, start in enumerate(rule_starts(recording.series), start=1):
        if start >= recording.lecture_start:
            return number
        if number > 1000:
            break
    return None


@transaction.atomic
def record_processed(
    *,
    recording_id: int,
    file: str,
    poster: str,
    duration_seconds: float | None,
    web_friendly: bool,
) -> Recording | None:
    recording = Recording.objects.select_for_update().filter(pk=recording_id).first()
    if recording is None:
        return None  # deleted meanwhile; the caller removes what it stored
    spool = recording.spool_name
    recording.file = file
    recording.poster = poster
    recording.duration_seconds = duration_seconds
    recording.web_friendly = web_friendly
    recording.status = Recording.Status.READY
    recording.spool_name = ""
    attach_context(recording)
    if recording.series is not None and recording.lecture_start is not None:
        number = lecture_number(recording)
        local = timezone.localtime(recording.lecture_start, timezone=_zone(recording.tenant))
        label = _("Lecture %(number)s") % {"number": number} if number else recording.series.title
        recording.title = f"{recording.series.title} · {label} · {local:%Y-%m-%d %H:%M}"[:200]
    recording.save()
    if spool:
        transaction.on_commit(partial(_unlink_spool, spool), robust=True)
    return recording


@transaction.atomic
def record_failed(*, recording_id: int, reason: str) -> None:
    recording = Recording.objects.select_for_update().filter(pk=recording_id).first()
    if recording is None:
        return
    recording.status = Recording.Status.FAILED
    recording.save(update_fields=["status"])
    audit(
        tenant=recording.tenant,
        actor=None,
        action="recording.failed",
        target=recording.code,
        title=recording.title,
        reason=reason,
    )


def _unlink_spool(name: str) -> None:
    storage.spool_path(name).unlink(missing_ok=True)


@transaction.atomic
def rename_recording(*, actor: User, recording: Recording, title: str) -> Recording:
    title = " ".join(title.split())
    if not title or len(title) > 200:
        raise ValueError(_("A title of 1 to 200 characters, please."))
    if title != recording.title:
        recording.title = title
        recording.save(update_fields=["title"])
        audit(
            tenant=recording.tenant,
            actor=actor,
            action="recording.renamed",
            target=recording.code,
            title=title,
        )
    return recording


@transaction.atomic
def change_visibility(*, actor: User, recording: Recording, visibility: str) -> Recording:
    if visibility not in Recording.Visibility.values:
        raise ValueError(_("Choose who may watch."))
    if visibility != recording.visibility:
        old = recording.visibility
        recording.visibility = visibility
        recording.save(update_fields=["visibility"])
        audit(
            tenant=recording.tenant,
            actor=actor,
            action="recording.visibility_changed",
            target=recording.code,
            title=recording.title,
            old=old,
            new=visibility,
        )
    return recording


def latest_keep_until(recording: Recording) -> date:
    return timezone.localdate(recording.created_at) + timedelta(days=settings.RECORDINGS_MAX_RETENTION_DAYS)


@transaction.atomic
def set_keep_until(*, actor: User, recording: Recording, keep_until: date | None) -> Recording:
    """Keep a recording past the tenant's retention period, up to the operator's maximum."""
    if keep_until is not None and keep_until > latest_keep_until(recording):
        raise ValueError(_("At most until %(date)s.") % {"date": latest_keep_until(recording).isoformat()})
    if keep_until != recording.keep_until:
        recording.keep_until = keep_until
        recording.save(update_fields=["keep_until"])
        audit(
            tenant=recording.tenant,
            actor=actor,
            action="recording.keep_until_changed",
            target=recording.code,
            title=recording.title,
            keep_until=keep_until.isoformat() if keep_until else None,
        )
    return recording


def _remove_files(names: list[str]) -> None:
    for name in names:
        storage.delete_quietly(name)


@transaction.atomic
def delete_recording(*, actor: User | None, recording: Recording, action: str = "recording.deleted") -> None:
    """Delete the row; its files go once the deletion is committed (a rollback keeps them)."""
    names = [name for name in (recording.file, recording.poster) if name]
    spool = recording.spool_name
    audit(
        tenant=recording.tenant,
        actor=actor,
        action=action,
        target=recording.code,
        room=recording.room.name,
        title=recording.title,
        size=recording.size_bytes,
    )
    recording.delete()
    transaction.on_commit(partial(_remove_files, names), robust=True)
    if spool:
        transaction.on_commit(partial(_unlink_spool, spool), robust=True)


def expired(now: datetime) -> list[Recording]:
    """Recordings past their tenant's retention (within the operator's maximum) and past any keep-until."""
    today = timezone.localdate(now)
    maximum = settings.RECORDINGS_MAX_RETENTION_DAYS
    found = []
    for recording in Recording.objects.select_related("tenant", "room").order_by("pk"):
        days = min(recording.tenant.recording_retention_days, maximum)
        past_retention = recording.created_at + timedelta(days=days) <= now
        kept = recording.keep_until is not None and recording.keep_until >= today
        past_maximum = recording.created_at + timedelta(days=maximum) <= now
        if past_maximum or (past_retention and not kept):
            found.append(recording)
    return found


def purge_expired(*, now: datetime) -> int:
    """Delete expired recordings (files and rows, an audit row each) and uploads abandoned for a week."""
    count = 0
    for recording in expired(now):
        delete_recording(actor=None, recording=recording, action="recording.purged")
        count += 1
    for upload in Upload.objects.filter(updated_at__lt=now - timedelta(days=7)):
        discard_upload(upload)
    return count
