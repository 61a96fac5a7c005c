"""tus 1.0 headers (https://tus.io/protocols/resumable-upload): core, creation, checksum, termination."""

from __future__ import annotations

import base64
import binascii
import re

VERSION = "1.0.0"
EXTENSIONS = "creation,checksum,termination"
CHECKSUM_ALGORITHMS = "sha256"
OFFSET_CONTENT_TYPE = "application/offset+octet-stream"
# The checksum extension's status for "the body does not match its checksum".
CHECKSUM_MISMATCH = 460

_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class HeaderError(ValueError):
    pass


def non_negative(value: str | None, name: str) -> int:
    if value is None or not value.isdigit() or len(value) > 19:
        raise HeaderError(f"{name} must be a non-negative integer.")
    return int(value)


def parse_metadata(value: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64value` pairs (values UTF-8 text here)."""
    found: dict[str, str] = {}
    if not value:
        return found
    if len(value) > 8192:
        raise HeaderError("Upload-Metadata is too long.")
    for pair in value.split(","):
        key, _sep, encoded = pair.strip().partition(" ")
        if not _KEY.match(key) or key in found:
            raise HeaderError("Upload-Metadata has a malformed or repeated key.")
        try:
            found[key] = base64.b64decode(encoded.strip(), validate=True).decode("utf-8") if encoded else ""
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise HeaderError(f"Upload-Metadata value of {key!r} is not base64 of UTF-8 text.") from exc
        if "\x00" in found[key]:
            raise HeaderError(f"Upload-Metadata value of {key!r} holds a NUL.")
    return found


def parse_checksum(value: str | None) -> bytes | None:
    """Upload-Checksum: `sha256 <base64 digest>`; None when absent."""
    if value is None:
        return None
    algorithm, _sep, encoded = value.strip().partition(" ")
    if algorithm.lower() != "sha256":
        raise HeaderError("Only sha256 checksums are supported.")
    try:
        digest = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error as exc:
        raise HeaderError("Upload-Checksum is not base64.") from exc
    if len(digest) != 32:
        raise HeaderError("Upload-Checksum is not a SHA-256 digest.")
    return digest
