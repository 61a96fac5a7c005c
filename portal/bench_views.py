"""Baselines for the benchmarks in bench/ (served only with BENCH_VIEWS, as /bench/bare)."""

from __future__ import annotations

from django.conf import settings
from django.db import connection
from django.http import Http404, HttpRequest, JsonResponse


def bench_select(request: HttpRequest) -> JsonResponse:
    """The full middleware stack and one `SELECT 1`: bench/events.py's baseline (what /healthz cost while it
    queried the database; /healthz itself is no baseline to keep, its work is its own)."""
    if not settings.BENCH_VIEWS:
        raise Http404
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return JsonResponse({"ok": True})
