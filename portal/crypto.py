"""Sealing secrets at rest (Fernet), with a key from FIELD_ENCRYPTION_KEY or derived from SECRET_KEY."""

from __future__ import annotations

import base64
import functools
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@functools.cache
def _fernet() -> Fernet:
    configured = settings.FIELD_ENCRYPTION_KEY
    if configured:
        return Fernet(configured.encode())
    digest = hashlib.sha256(b"auditorium-field-encryption:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def unseal(sealed: str) -> str:
    try:
        return _fernet().decrypt(sealed.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("a stored secret cannot be opened with the configured FIELD_ENCRYPTION_KEY") from exc


def masked(secret: str) -> str:
    """What a page may show of a secret: its last four characters."""
    return "…" + secret[-4:] if len(secret) > 8 else "…"
