"""Where recordings live: Django's storage named "recordings" (the filesystem, or S3 through django-storages),
and the spool folder where tus uploads wait until the worker has processed them."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.files.storage import Storage, storages


def recording_storage() -> Storage:
    return storages["recordings"]


def is_s3(storage: Storage | None = None) -> bool:
    return settings.RECORDINGS_STORAGE == "s3"


def spool_dir() -> Path:
    path = Path(settings.RECORDINGS_UPLOAD_DIR)
    path.mkdir(parents=True, exist_ok=True)
    return path


def spool_path(name: str) -> Path:
    """A file in the spool folder; `name` is always ours (an upload id), never a client's."""
    if not name or "/" in name or name.startswith("."):
        raise ValueError("not a spool file name")
    return spool_dir() / name


def delete_quietly(name: str) -> None:
    """Remove a stored file; one already gone is fine (retries, a purge after a delete)."""
    if name:
        storage = recording_storage()
        if storage.exists(name):
            storage.delete(name)
