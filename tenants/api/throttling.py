"""Rate limits per API token and per client address (DRF throttles on the shared Redis cache).

Rates come from REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] ("token", "address"), read at request time so
that settings overrides apply. Client addresses are REMOTE_ADDR unless NUM_PROXIES says how many proxies
to trust in X-Forwarded-For (a client could otherwise pick its own address)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tenants.models import ApiToken


class _SettingsRate(SimpleRateThrottle):
    def get_rate(self) -> str | None:
        rates: dict[str, str | None] = api_settings.DEFAULT_THROTTLE_RATES  # type: ignore[assignment]
        return rates.get(self.scope or "")


class TokenRateThrottle(_SettingsRate):
    """Requests per personal API token, whichever address they come from."""

    scope = "token"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        if not isinstance(request.auth, ApiToken):
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.prefix}


class AddressRateThrottle(_SettingsRate):
    """Requests per client address, signed in or not (also bounds guessing of tokens)."""

    scope = "address"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}
