"""Fixed-window rate limits per client address, counted in Django's cache (Redis when processes share it)."""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: int

    @classmethod
    def parse(cls, spec: str) -> Limit:
        """ "10/3600": ten per hour. A count of 0 switches the limit off."""
        count, _sep, seconds = spec.partition("/")
        limit = cls(count=int(count), seconds=int(seconds or 60))
        if limit.count < 0 or limit.seconds <= 0:
            raise ValueError(f"bad rate limit {spec!r}")
        return limit


def client_address(request: HttpRequest) -> str:
    """The client's address; behind a proxy, from the header named by CLIENT_IP_HEADER."""
    header = settings.CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get(header, "")
        if forwarded:
            # X-Forwarded-For style lists: the proxy appends, so the last entry is the one it saw.
            return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def hit(scope: str, client: str, limit: Limit, *, now: float | None = None) -> int | None:
    """Count one request. None while within the limit, else the seconds until the window resets."""
    if limit.count == 0:
        return None
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    who = hashlib.sha256(client.encode()).hexdigest()[:24]  # no raw addresses in the cache
    key = f"ratelimit:{scope}:{who}:{window}"
    cache.add(key, 0, timeout=limit.seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=limit.seconds + 1)
        count = 1
    if count > limit.count:
        return max(1, int((window + 1) * limit.seconds - now))
    return None


def too_many_requests(request: HttpRequest, retry_after: int) -> HttpResponse:
    minutes = max(1, round(retry_after / 60))
    response = render(
        request,
        "refused.html",
        {
            "title": _("Too many requests"),
            "message": ngettext(
                "Too many meetings were started or joined from your network in a short time. "
                "Please try again in about %(minutes)d minute.",
                "Too many meetings were started or joined from your network in a short time. "
                "Please try again in about %(minutes)d minutes.",
                minutes,
            )
            % {"minutes": minutes},
        },
        status=429,
    )
    response["Retry-After"] = str(retry_after)
    return response


def limited(request: HttpRequest, scope: str, spec: str) -> HttpResponse | None:
    """A 429 page when the client went over the limit `spec`, else None (and the request is counted)."""
    retry_after = hit(scope, client_address(request), Limit.parse(spec))
    return too_many_requests(request, retry_after) if retry_after is not None else None
