"""The work behind a recording, run by the worker (meetings/recordings/tasks.py) or, in the embedded
development setup, right after the upload's commit. Idempotent: run twice (a worker killed midway, a retry),
it ends in the same state and stores each file once."""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path

from django.core.files import File
from django_scopes import scope

from meetings.recordings import media, services, storage
from meetings.recordings.models import Recording

log = logging.getLogger(__name__)


def _store(local: Path, name: str) -> str:
    """Copy a local file to the recordings storage under `name` (a second run replaces a partial copy)."""
    target = storage.recording_storage()
    if target.exists(name):
        if target.size(name) == local.stat().st_size:
            return name
        target.delete(name)
    with local.open("rb") as f:
        return target.save(name, File(f, name=local.name))


def process_recording(recording_id: int) -> None:
    recording = Recording.objects.select_related("tenant", "room").filter(pk=recording_id).first()
    if recording is None or recording.status != Recording.Status.PROCESSING:
        return
    with scope(tenant=recording.tenant_id):  # a job runs outside any request: its recording's institution
        _process(recording_id, recording)


def _process(recording_id: int, recording: Recording) -> None:
    source = storage.spool_path(recording.spool_name)
    if not source.exists():
        services.record_failed(recording_id=recording_id, reason="the uploaded file is missing")
        return
    try:
        found = media.probe(source)
        friendly = media.web_friendly(source, found)
        base = f"{recording.tenant.slug}/{recording.room.name}/{recording.code}"
        with tempfile.TemporaryDirectory(prefix="auditorium-poster-") as tmp:
            poster = Path(tmp) / "poster.jpg"
            media.poster_frame(source, poster, found.duration)
            poster_name = _store(poster, f"{base}.jpg")
    except media.MediaError as exc:
        log.warning("recording %s could not be processed: %s", recording.code, exc)
        services.record_failed(recording_id=recording_id, reason=str(exc))
        return
    file_name = _store(source, f"{base}.mp4")
    done = services.record_processed(
        recording_id=recording_id,
        file=file_name,
        poster=poster_name,
        duration_seconds=found.duration,
        web_friendly=friendly,
    )
    if done is None:  # deleted while we worked
        storage.delete_quietly(file_name)
        storage.delete_quietly(poster_name)
