"""Serving a stored file with HTTP Range (RFC 9110 §14): one range per request, which is what players ask."""

from __future__ import annotations

import re
from collections.abc import Iterator

from django.core.files.storage import Storage
from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse

CHUNK = 256 * 1024
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")


def parse_range(header: str | None, size: int) -> tuple[int, int] | bool | None:
    """(start, end) inclusive; None for no (or an ignorable) Range; False when unsatisfiable."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # several ranges or another unit: answer the whole file
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last n bytes
        n = int(last)
        if n == 0:
            return False
        return max(size - n, 0), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if start >= size or end < start:
        return False
    return start, end


def _pieces(storage: Storage, name: str, start: int, length: int) -> Iterator[bytes]:
    with storage.open(name, "rb") as f:
        f.seek(start)
        remaining = length
        while remaining > 0:
            piece = f.read(min(CHUNK, remaining))
            if not piece:
                break
            remaining -= len(piece)
            yield piece


def serve(
    request: HttpRequest, storage: Storage, name: str, content_type: str, disposition: str
) -> HttpResponseBase:
    size = storage.size(name)
    wanted = parse_range(request.headers.get("Range"), size)
    if wanted is False:
        refused = HttpResponse(status=416)
        refused["Content-Range"] = f"bytes */{size}"
        return refused
    start, end = wanted if isinstance(wanted, tuple) else (0, size - 1)
    length = max(end - start + 1, 0)
    body = iter(()) if request.method == "HEAD" else _pieces(storage, name, start, length)
    response = StreamingHttpResponse(body, content_type=content_type, status=206 if wanted else 200)
    response["Content-Length"] = str(length)
    response["Accept-Ranges"] = "bytes"
    if wanted:
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
    response["Content-Disposition"] = disposition
    response["Cache-Control"] = "private, no-store"
    return response
