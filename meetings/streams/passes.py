"""Viewing passes: what lets a browser fetch a non-public stream's HLS files from the media server.

The viewer page (which checks the room's policy with the person's session) sets the pass as a cookie scoped
to the stream's HLS folder; nginx's `auth_request` hands it to the portal (meetings.streams.hooks.hls_auth),
which checks it without the database or the session: an HMAC over the stream path, the stream's pass epoch
(bumped when who may watch changes) and the expiry. So a playlist address pasted elsewhere fetches nothing,
and a pass for one stream opens no other."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import time

from django.conf import settings

COOKIE = "auditorium_stream"


@functools.cache
def _key() -> bytes:
    secret = settings.FIELD_ENCRYPTION_KEY or settings.SECRET_KEY
    return hashlib.sha256(b"auditorium-stream-pass:" + secret.encode()).digest()


def _mac(body: str) -> str:
    digest = hmac.new(_key(), body.encode(), hashlib.sha256).digest()[:18]
    return base64.urlsafe_b64encode(digest).decode()


def issue(path: str, epoch: int, *, now: float | None = None, seconds: int | None = None) -> str:
    expires = int((now if now is not None else time.time()) + (seconds or settings.STREAM_PASS_SECONDS))
    body = f"{path}.{epoch}.{expires}"
    return f"{body}.{_mac(body)}"


def check(value: str, path: str, epoch: int, *, now: float | None = None) -> bool:
    """True when `value` is a current pass for this stream path and epoch."""
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != path or parts[1] != str(epoch) or not parts[2].isdigit():
        return False
    if int(parts[2]) < (now if now is not None else time.time()):
        return False
    return hmac.compare_digest(_mac(".".join(parts[:3])), parts[3])


def cookie_path(path: str) -> str:
    base = settings.STREAM_HLS_URL if settings.STREAM_HLS_URL.startswith("/") else "/hls/"
    return f"{base.rstrip('/')}/{path}/"
