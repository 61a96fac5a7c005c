"""Short-lived links to a recording's video and poster: S3 presigned URLs, or the portal's own signed view
(`views.media`, with HTTP Range so that browsers seek). A link stops working after RECORDINGS_URL_SECONDS."""

from __future__ import annotations

import time
from typing import Any

from django.conf import settings
from django.core.signing import BadSignature, Signer
from django.urls import reverse

from meetings.recordings import storage
from meetings.recordings.models import Recording

KINDS = {"video": "video/mp4", "poster": "image/jpeg"}
_signer = Signer(salt="auditorium.recordings.media")


def _message(recording: Recording, kind: str, expires: int, download: bool) -> str:
    return f"{recording.tenant.slug}:{recording.code}:{kind}:{expires}:{int(download)}"


def download_name(recording: Recording) -> str:
    safe = "".join(ch if ch.isalnum() or ch in "-_" else "-" for ch in recording.title)[:80].strip("-")
    return f"{safe or recording.code}.mp4"


def url(recording: Recording, kind: str, *, download: bool = False, now: float | None = None) -> str:
    name = recording.file if kind == "video" else recording.poster
    if not name:
        return ""
    seconds = settings.RECORDINGS_URL_SECONDS
    if storage.is_s3():
        parameters: dict[str, Any] = {"ResponseContentType": KINDS[kind]}
        if download:
            parameters["ResponseContentDisposition"] = f'attachment; filename="{download_name(recording)}"'
        return str(storage.recording_storage().url(name, parameters=parameters, expire=seconds))  # type: ignore[call-arg]  # S3Storage.url takes these
    expires = int((now or time.time()) + seconds)
    signature = _signer.signature(_message(recording, kind, expires, download))
    route = "recordings:video" if kind == "video" else "recordings:poster"
    path = reverse(route, kwargs={"tenant": recording.tenant.slug, "code": recording.code})
    return f"{path}?e={expires}&d={int(download)}&s={signature}"


def check(recording: Recording, kind: str, query: Any, *, now: float | None = None) -> bool | None:
    """None when the link is invalid or expired; else whether it asks for a download."""
    try:
        expires = int(query.get("e", ""))
        download = query.get("d", "0") == "1"
        expected = _signer.signature(_message(recording, kind, expires, download))
        if not _constant_equal(expected, query.get("s", "")):
            raise BadSignature
    except (ValueError, BadSignature):
        return None
    if expires < (now or time.time()):
        return None
    return download


def _constant_equal(a: str, b: str) -> bool:
    import hmac

    return hmac.compare_digest(a.encode(), b.encode())
