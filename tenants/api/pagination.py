"""The API's pagination: DRF's limit/offset, with a ceiling on `limit`."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class Pagination(LimitOffsetPagination):
    # Without a ceiling, ?limit=10**20 reached PostgreSQL as a LIMIT out of bigint's range: a 500.
    # A larger limit is served as this one (DRF caps it), and the schema says so.
    max_limit = 500
