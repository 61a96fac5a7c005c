"""Path converters: each identifier in a URL matches only its own alphabet and length.

A path value outside them (NUL, slashes, 10 kB, emoji) matches no route and answers 404 before any view or
query runs; `str` and `slug` let such values through to the database. Registered on import: every urls.py
imports this module first. Use `<room:name>`, `<series:code>`, ... in routes.

| converter    | what                                        | alphabet                    |
|--------------|---------------------------------------------|-----------------------------|
| `tenant`     | a tenant's or deployment's slug             | `[a-z0-9-]{1,50}`           |
| `room`       | a Jitsi room name (meetings.models)         | `[a-z0-9-]{1,100}`          |
| `series`     | a lecture series code (base32, lower case)  | `[a-z2-7]{1,16}`            |
| `lecture`    | a lecture's original start (UTC key or ISO) | `[0-9TZ:+.-]{1,32}`         |
| `feedtoken`  | a calendar feed's secret token              | `[A-Za-z0-9_-]{1,64}`       |
| `tokenprefix`| an API token's public prefix                | `[0-9a-f]{1,16}`            |
| `digest`     | a SHA-256 in hex (ASAP public keys)         | `[0-9a-f]{64}`              |
| `upload`     | a tus upload's id (recordings)              | `[0-9a-f]{32}`              |
| `recording`  | a recording's code (base32, lower case)     | `[a-z2-7]{16}`              |
"""

from __future__ import annotations

from django.urls import register_converter


class _Converter:
    regex = ""

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: object) -> str:
        return str(value)


class TenantSlug(_Converter):
    regex = "[a-z0-9-]{1,50}"


class RoomName(_Converter):
    regex = "[a-z0-9-]{1,100}"


class SeriesCode(_Converter):
    regex = "[a-z2-7]{1,16}"


class LectureKey(_Converter):
    # The alphabet of a lecture key (`20260302T091500Z`, recurrence.Occurrence.key) and of an ISO 8601 time
    # with its offset (`2026-03-02T10:15:00+01:00`, which the API accepts too). The value itself and its
    # range are meetings.recurrence.parse_key's to check (the view's 404 then names the key).
    regex = "[0-9TZ:+.-]{1,32}"


class FeedToken(_Converter):
    regex = "[A-Za-z0-9_-]{1,64}"


class TokenPrefix(_Converter):
    regex = "[0-9a-f]{1,16}"


class Digest(_Converter):
    regex = "[0-9a-f]{64}"


class UploadId(_Converter):
    regex = "[0-9a-f]{32}"


class RecordingCode(_Converter):
    regex = "[a-z2-7]{16}"


CONVERTERS = {
    "tenant": TenantSlug,
    "room": RoomName,
    "series": SeriesCode,
    "lecture": LectureKey,
    "feedtoken": FeedToken,
    "tokenprefix": TokenPrefix,
    "digest": Digest,
    "upload": UploadId,
    "recording": RecordingCode,
}

for _name, _converter in CONVERTERS.items():
    register_converter(_converter, _name)
