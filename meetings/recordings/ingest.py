"""Jibri's uploads: tus 1.0 (core, creation, checksum with sha256, termination) at
`/jitsi/<deployment>/recordings/`, authenticated by the deployment's recording secret.

Bodies are streamed to the spool folder in 1 MiB pieces, never held in memory. `Upload.offset` in the
database counts only bytes written, flushed to disk and verified (a PATCH with `Upload-Checksum` counts all
of its body or nothing), so after a dropped connection or a portal restart the client resumes exactly there;
bytes beyond it in the partial file are cut off by the next PATCH. A PATCH runs under an exclusive lock on
the partial file, so two at once for one upload get 423 instead of interleaving.
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import wraps
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django_scopes import scope

from meetings.recordings import matching, services, storage, tus
from meetings.recordings.models import Upload
from tenants.models import JitsiDeployment

log = logging.getLogger(__name__)

CHUNK = 1024 * 1024
_HEX = frozenset("0123456789abcdef")

# The whole file's SHA-256 so far, per upload, in this process: (offset it covers, hash object). Saves reading
# and hashing the file again after the last byte; an upload continued in another process (or after a
# restart) finds no entry here and is hashed from disk at the end instead.
_running: dict[str, tuple[int, Any]] = {}
_RUNNING_MAX = 256


def _answer(status: int, message: str = "", **headers: str) -> HttpResponse:
    response: HttpResponse = (
        JsonResponse({"error": message}, status=status) if message else HttpResponse(status=status)
    )
    response["Tus-Resumable"] = tus.VERSION
    response["Cache-Control"] = "no-store"
    for name, value in headers.items():
        response[name.replace("_", "-")] = value
    return response


def _options() -> HttpResponse:
    return _answer(
        204,
        Tus_Version=tus.VERSION,
        Tus_Extension=tus.EXTENSIONS,
        Tus_Checksum_Algorithm=tus.CHECKSUM_ALGORITHMS,
        Tus_Max_Size=str(settings.RECORDINGS_MAX_BYTES),
    )


def _deployment(request: HttpRequest, slug: str) -> JitsiDeployment | None:
    found = JitsiDeployment.objects.filter(slug=slug, tenant__is_active=True).select_related("tenant").first()
    secret = found.recording_secret if found is not None and found.recording_secret else ""
    scheme, _sep, token = request.headers.get("Authorization", "").partition(" ")
    # Compared even without a deployment, so that timing tells nothing about which slugs exist.
    matches = hmac.compare_digest(token.strip().encode(), (secret or "\x00no-secret").encode())
    return found if secret and matches and scheme.lower() == "bearer" else None


Handler = Callable[..., HttpResponse]


def tus_endpoint(view: Handler) -> Handler:
    """OPTIONS for anyone (tus discovery); everything else needs Tus-Resumable and the recording secret."""

    @csrf_exempt
    @wraps(view)
    def wrapper(request: HttpRequest, deployment: str, **kwargs: Any) -> HttpResponse:
        if request.method == "OPTIONS":
            return _options()
        if request.headers.get("Tus-Resumable") != tus.VERSION:
            return _answer(
                412, _("This server speaks tus 1.0.0 (Tus-Resumable: 1.0.0)."), Tus_Version=tus.VERSION
            )
        found = _deployment(request, deployment)
        if found is None:
            response = _answer(401, _("Missing or wrong recording secret for this deployment."))
            response["WWW-Authenticate"] = 'Bearer realm="jitsi-recordings"'
            return response
        try:
            with scope(tenant=found.tenant_id):  # the authenticated deployment's institution
                return view(request, found, **kwargs)
        except tus.HeaderError as exc:
            return _answer(400, str(exc))

    return wrapper


def _ended_at(value: str | None, now: datetime) -> datetime | None:
    """When the recording ended (the file's modification time, as the finalize script says): used to find
    the lecture, so clamped to the week before now."""
    if not value:
        return None
    try:
        moment = datetime.fromtimestamp(float(value), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return min(max(moment, now - timedelta(days=7)), now)


@tus_endpoint
def uploads(request: HttpRequest, deployment: JitsiDeployment) -> HttpResponse:
    """POST: create an upload (the creation extension)."""
    if request.method != "POST":
        return _answer(405, _("Create uploads with POST."), Allow="POST, OPTIONS")
    if "Upload-Defer-Length" in request.headers:
        return _answer(400, _("Give Upload-Length: deferred lengths are not supported."))
    length = tus.non_negative(request.headers.get("Upload-Length"), "Upload-Length")
    meta = tus.parse_metadata(request.headers.get("Upload-Metadata"))
    kind = meta.get("kind", Upload.Kind.VIDEO)
    if kind not in Upload.Kind.values:
        return _answer(400, _("Upload-Metadata kind must be video or metadata."))
    limit = services.METADATA_MAX_BYTES if kind == Upload.Kind.METADATA else settings.RECORDINGS_MAX_BYTES
    if length > limit:
        return _answer(413, _("The file is larger than %(limit)s bytes.") % {"limit": limit})
    sha256 = meta.get("sha256", "").lower()
    if sha256 and (len(sha256) != 64 or not set(sha256) <= _HEX):
        return _answer(400, _("Upload-Metadata sha256 must be 64 hexadecimal digits."))
    metadata_upload = meta.get("metadata_upload", "")
    if metadata_upload and (len(metadata_upload) != 32 or not set(metadata_upload) <= _HEX):
        return _answer(400, _("Upload-Metadata metadata_upload must name an upload."))
    try:
        room = matching.room_for(deployment, meta.get("meeting_url", ""))
    except matching.NotThisDeployment:
        return _answer(403, _("The meeting URL is not a meeting of this deployment."))
    except matching.NoSuchRoom:
        return _answer(404, _("The meeting URL names no room of this deployment."))
    if not deployment.tenant.recordings_enabled:
        return _answer(403, _("This institution has not turned recordings on."))
    try:
        upload = services.start_upload(
            deployment=deployment,
            room=room,
            kind=kind,
            length=length,
            sha256=sha256,
            filename=meta.get("filename", ""),
            ended_at=_ended_at(meta.get("ended_at"), timezone.now()),
            metadata_upload=metadata_upload,
        )
    except services.QuotaExceeded:
        return _answer(413, _("The institution's storage for recordings is full."))
    location = request.build_absolute_uri(f"/jitsi/{deployment.slug}/recordings/{upload.id}")
    return _answer(201, Location=location, Upload_Offset="0")


@tus_endpoint
def upload(request: HttpRequest, deployment: JitsiDeployment, upload: str) -> HttpResponse:
    """HEAD (offset), PATCH (append), DELETE (termination)."""
    found = Upload.objects.filter(pk=upload, deployment=deployment).select_related("room__tenant").first()
    if found is None:
        return _answer(404, _("No such upload."))
    if request.method == "HEAD":
        return _answer(200, Upload_Offset=str(found.offset), Upload_Length=str(found.length))
    if request.method == "DELETE":
        if found.completed_at is not None:
            return _answer(409, _("The upload is complete."))
        services.discard_upload(found)
        return _answer(204)
    if request.method == "PATCH":
        return _append(request, found)
    return _answer(405, _("Use HEAD, PATCH or DELETE."), Allow="HEAD, PATCH, DELETE, OPTIONS")


def _append(request: HttpRequest, found: Upload) -> HttpResponse:
    if request.content_type != tus.OFFSET_CONTENT_TYPE:
        return _answer(415, _("PATCH bodies are application/offset+octet-stream."))
    offset = tus.non_negative(request.headers.get("Upload-Offset"), "Upload-Offset")
    size = tus.non_negative(request.headers.get("Content-Length"), "Content-Length")
    expected = tus.parse_checksum(request.headers.get("Upload-Checksum"))
    if found.completed_at is not None or offset != found.offset:
        return _answer(
            409,
            _("The upload is at offset %(offset)s.") % {"offset": found.offset},
            Upload_Offset=str(found.offset),
        )
    if offset + size > found.length:
        return _answer(413, _("The body goes past Upload-Length."))
    path = storage.spool_path(found.part_name)
    try:
        handle = path.open("r+b")
    except FileNotFoundError:
        handle = path.open("w+b")
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _answer(423, _("Another request is appending to this upload."))
        # Whatever lies past the stored offset was never confirmed (a request cut short, a crash).
        handle.truncate(offset)
        handle.seek(offset)
        digest = hashlib.sha256()
        known = _running.pop(found.pk, None)
        whole = None
        if found.sha256 and (offset == 0 or (known is not None and known[0] == offset)):
            whole = hashlib.sha256() if offset == 0 else known[1]  # type: ignore[index]  # known is set here
        received = 0
        try:
            while received < size:
                piece = request.read(min(CHUNK, size - received))
                if not piece:
                    break
                handle.write(piece)
                digest.update(piece)
                if whole is not None:
                    whole.update(piece)
                received += len(piece)
        except OSError:
            log.info("upload %s: the connection dropped after %d bytes", found.pk, received)
        if expected is not None and (received < size or not hmac.compare_digest(digest.digest(), expected)):
            handle.truncate(offset)
            if received < size:
                return _answer(400, _("The body ended early; nothing of it was kept."))
            return _answer(
                tus.CHECKSUM_MISMATCH,
                _("The body does not match Upload-Checksum; nothing of it was kept."),
                Upload_Offset=str(offset),
            )
        handle.flush()
        os.fsync(handle.fileno())
        new_offset = offset + received
        Upload.objects.filter(pk=found.pk, offset=offset).update(offset=new_offset, updated_at=timezone.now())
        found.offset = new_offset
        if whole is not None and new_offset < found.length:
            if len(_running) >= _RUNNING_MAX:
                _running.clear()
            _running[found.pk] = (new_offset, whole)
        if new_offset == found.length:
            refusal = _finish(found, path, whole.hexdigest() if whole is not None else None)
            if refusal is not None:
                return refusal
    return _answer(204, Upload_Offset=str(new_offset))


def _file_sha256(path: os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while piece := f.read(CHUNK):
            digest.update(piece)
    return digest.hexdigest()


def _finish(found: Upload, path: os.PathLike[str], running: str | None) -> HttpResponse | None:
    """The last byte is in: check the whole file, then hand it on. A refused file leaves nothing behind."""
    if found.sha256 and not hmac.compare_digest(running or _file_sha256(path), found.sha256):
        services.discard_upload(found)
        return _answer(tus.CHECKSUM_MISMATCH, _("The file does not match its sha256; it was discarded."))
    if found.kind == Upload.Kind.METADATA:
        try:
            with open(path, "rb") as f:
                data = json.loads(f.read(services.METADATA_MAX_BYTES + 1))
            if (
                not isinstance(data, dict)
                or matching.room_for(found.deployment, str(data.get("meeting_url", ""))) != found.room
            ):
                raise ValueError("another room")
        except (ValueError, matching.NotThisDeployment, matching.NoSuchRoom):
            services.discard_upload(found)
            return _answer(400, _("metadata.json is not Jibri's metadata of this room's meeting."))
        participants = data.get("participants")
        details: dict[str, Any] = (
            {"participant_count": len(participants)} if isinstance(participants, list) else {}
        )
        services.complete_upload(upload=found, now=timezone.now(), details=details)
        return None
    services.complete_upload(upload=found, now=timezone.now())
    return None
