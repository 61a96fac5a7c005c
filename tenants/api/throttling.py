"""Rate limits per API token and per client address (DRF throttles on the shared Redis cache).

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] ("token", "address"), read at request time so
that settings overrides apply. Client addresses are REMOTE_ADDR unless NUM_PROXIES says how many proxies
to trust in X-Forwarded-For (a client could otherwise pick its own address)."""

from __future__ import annotations

import time
from typing import Any

from django.core.cache import cache
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tenants.models import ApiToken


class _SettingsRate(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        rates: dict[str, str | None] = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]  # DRF's stubs type the setting loosely
        return rates.get(self.scope or "")


def hit(key: str, seconds: int, also_get: tuple[str, ...] = ()) -> tuple[int, int, dict[str, Any]]:
    """One more request on `key`: (requests in the current window, seconds until it ends, the cache values
    of `also_get` that were found).

    With Redis (portal.redis_cache) one round trip: INCR, EXPIRE NX, TTL and MGET in a pipeline. DRF's own
    throttles keep a list of timestamps per key (a GET and a SET of up to N entries per request)."""
    counter = getattr(cache, "hit", None)
    if counter is not None:
        return counter(key, seconds, also_get)
    found = cache.get_many(also_get) if also_get else {}
    now = time.time()  # other caches (the in-process one of a development run): windows on the clock
    window = int(now // seconds)
    windowed = f"{key}:{window}"
    cache.add(windowed, 0, seconds + 1)
    try:
        count = cache.incr(windowed)
    except ValueError:  # expired between add and incr
        cache.set(windowed, 1, seconds + 1)
        count = 1
    return count, max(1, int((window + 1) * seconds - now)), found


class _FixedWindowRate(_SettingsRate):
    """At most N requests per window of the rate's duration, counted with one cache round trip.

    Subclasses may read other cache keys in the same round trip (`also_get`, handed to `prefetched`)."""

    retry_after = 1
    # Not DRF's "throttle_..." keys: those hold timestamp lists, which INCR refuses (old and new processes
    # share Redis during a rolling deploy).
    cache_format = "rate_%(scope)s_%(ident)s"

    def allow_request(self, request: Request, view: Any) -> bool:
        if self.rate is None:
            return True
        key = self.get_cache_key(request, view)
        if key is None:
            return True
        num_requests, duration = self.parse_rate(self.rate)
        if num_requests is None or duration is None:
            return True
        count, self.retry_after, found = hit(key, duration, self.also_get(request, view))
        self.prefetched(request, found)
        return count <= num_requests

    def also_get(self, request: Request, view: Any) -> tuple[str, ...]:
        return ()

    def prefetched(self, request: Request, found: dict[str, Any]) -> None:
        pass

    def wait(self) -> float | None:
        return float(self.retry_after)


class TokenRateThrottle(_FixedWindowRate):
    """Requests per personal API token, whichever address they come from."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}


class AddressRateThrottle(_FixedWindowRate):
    """Requests per authenticated client address (DRF throttles after authentication)."""

    scope = "address"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class FailedTokenThrottle(_SettingsRate):
    """Failed token authentications per client address. DRF's throttles run only after authentication
    succeeded, so the authentication class consults this one itself: past the limit, tokens from that
    address are not even looked at until the window has passed."""

    scope = "token_failure"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}

    def blocked_for(self, request: Request) -> float | None:
        """Seconds to wait when the address is over the limit, without counting this request."""
        if self.rate is None:
            return None
        self.key = self.get_cache_key(request, None)
        self.history = self.cache.get(self.key, [])
        self.now = self.timer()
        num_requests, duration = self.parse_rate(self.rate)
        while self.history and self.history[-1] <= self.now - (duration or 0):
            self.history.pop()
        if num_requests is not None and len(self.history) >= num_requests:
            return self.wait()
        return None

    def record_failure(self, request: Request) -> None:
        self.allow_request(request, None)  # type: ignore[arg-type]  # the view is not used
