"""Fixed-window rate limits per client address, counted in Django's cache (Redis when processes share it),
and the limits on wrong access codes (per room and client address, and per room)."""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

if TYPE_CHECKING:
    from rest_framework.request import Request


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


def client_address(request: HttpRequest | Request) -> str:
    """The client's address; behind a proxy, from the header named by CLIENT_IP_HEADER. (DRF's Request
    hands META through from its HttpRequest.)"""
    header = settings.CLIENT_IP_HEADER
    if header:
        forwarded = request.META.get(header, "")
        if forwarded:
            # X-Forwarded-For style lists: the proxy appends, so the last entry is the one it saw.
            return forwarded.split(",")[-1].strip()
    return str(request.META.get("REMOTE_ADDR", ""))


def _who(client: str) -> str:
    return hashlib.sha256(client.encode()).hexdigest()[:24]  # no raw addresses in the cache


def hit(scope: str, client: str, limit: Limit, *, now: float | None = None) -> int | None:
    """Count one request. None while within the limit, else the seconds until the window resets."""
    if limit.count == 0:
        return None
    now = time.time() if now is None else now
    window = int(now // limit.seconds)
    key = f"ratelimit:{scope}:{_who(client)}:{window}"
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


# Access codes. A code is short, so what protects it is the number of guesses, not the cost of its hash:
# every attempt takes one from the room's allowance and from the (room, address) allowance *before* the code
# is hashed, and a right code gives it back, so the counters hold the failed attempts (and those under way;
# taken atomically, so parallel requests cannot slip past a limit). The page and the API share them.


def _code_counters(room_id: int, client: str) -> list[tuple[str, int, int]]:
    """(key, limit, seconds) of each access-code limit that is on."""
    per_address = Limit.parse(settings.RATE_LIMIT_ACCESS_CODE_ADDRESS)
    per_room = Limit.parse(settings.RATE_LIMIT_ACCESS_CODE_ROOM)
    counters = []
    if per_address.count:
        counters.append((f"code-attempts:{room_id}:{_who(client)}", per_address.count, per_address.seconds))
    if per_room.count:
        counters.append((f"code-attempts:{room_id}", per_room.count, per_room.seconds))
    return counters


def take_code_attempt(room_id: int, client: str) -> int | None:
    """Before an access code is checked: None when this attempt may go ahead (it counts as failed until
    give_back_code_attempt), else the seconds until it may (nothing counted: waiting does not extend the
    block). One cache round trip."""
    counters = _code_counters(room_id, client)
    if not counters:
        return None
    take = getattr(cache, "take", None)
    if take is not None:  # Redis (portal.redis_cache): atomic, one round trip
        return take(counters)
    return _take_locally(counters)


def give_back_code_attempt(room_id: int, client: str) -> None:
    """The code was right: the attempt taken was not a failure."""
    keys = [key for key, _limit, _seconds in _code_counters(room_id, client)]
    if not keys:
        return
    give_back = getattr(cache, "give_back", None)
    if give_back is not None:
        give_back(keys)
        return
    now = time.time()
    for key, (count, ends) in cache.get_many(keys).items():
        if count > 0 and ends > now:
            cache.set(key, (count - 1, ends), timeout=math.ceil(ends - now))


def _take_locally(counters: list[tuple[str, int, int]]) -> int | None:
    """take() for caches other than Redis (the in-process one of a development run: one process, so reading
    and then writing is good enough). Values are (count, end of the window)."""
    now = time.time()
    found: dict[str, Any] = cache.get_many([key for key, _limit, _seconds in counters])
    current = {}
    for key, limit, seconds in counters:
        count, ends = found.get(key, (0, 0.0))
        if ends <= now:
            count, ends = 0, now + seconds
        if count >= limit:
            return max(1, math.ceil(ends - now))
        current[key] = (count, ends)
    for key, (count, ends) in current.items():
        cache.set(key, (count + 1, ends), timeout=math.ceil(ends - now))
    return None
