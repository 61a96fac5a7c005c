"""Names of the live-count channels, in one place. Always tenant-prefixed: two tenants may use the same
room name.

`room_channel` names the Redis pub/sub channel (and the key in each process's fan-out registry) that
carries the participant count of one room. With several test runs or sites on one Redis server,
`LIVE_CHANNEL_PREFIX` keeps them apart (pub/sub channels are not scoped by Redis database numbers).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from django.conf import settings


def live_prefix() -> str:
    prefix = getattr(settings, "LIVE_CHANNEL_PREFIX", "")
    if prefix:
        return str(prefix)
    # Default: the channel-layer prefix plus the Redis database number of REDIS_URL.
    base = "auditorium"
    for layer in getattr(settings, "CHANNEL_LAYERS", {}).values():
        base = layer.get("CONFIG", {}).get("prefix", base)
    redis_url = getattr(settings, "REDIS_URL", "") or ""
    db = urlsplit(redis_url).path.strip("/") or "0"
    return f"{base}:{db}:live"


def room_channel(tenant_slug: str, room_name: str) -> str:
    return f"{live_prefix()}:room:{tenant_slug}:{room_name}"


def control_channel() -> str:
    """Every process subscribes to it so its subscriber connection never sits without a subscription."""
    return f"{live_prefix()}:control"
