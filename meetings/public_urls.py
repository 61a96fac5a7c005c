"""Portal-wide meeting URLs: anonymous meetings, Jitsi's callbacks (events, keys, branding)."""

from __future__ import annotations

from typing import Any

urlpatterns: list[Any] = []
