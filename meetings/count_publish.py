"""Live counts leave the process that committed them: published on the room's Redis channel for every
process's hub (meetings/consumers.py), or handed to this process's hubs when there is no Redis (`make run`).

Below the event rules (meetings/live.py) and the hubs, so that neither imports the other for it. While Redis
is down the newest count of each room is kept and published again by the breaker's probe
(portal/redis_access.py).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings

from meetings import groups
from portal import redis_access
from portal.redis_access import RedisDown

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ShownCount:
    """The number a page shows for a room, with the key that orders updates: newer (session, version) wins."""

    room_name: str
    session_id: int
    version: int
    count: int

    @property
    def key(self) -> tuple[int, int]:
        return (self.session_id, self.version)


def _nowhere(channel: str, room_name: str, key: tuple[int, int], count: int) -> None:
    """No hub in this process yet (meetings/consumers.py sets the real one when it is imported)."""


# Without Redis: (channel, room name, key, count) to this process's hubs.
deliver_locally: Callable[[str, str, tuple[int, int], int], None] = _nowhere


# The newest count of each room whose publish failed while Redis was down: published again by the breaker's
# probe when Redis answers (portal/redis_access.py), so every process's viewers catch up.
_unpublished: dict[str, tuple[tuple[int, int], str]] = {}
_unpublished_lock = threading.Lock()


def _republish() -> None:
    """Recovery hook: publish the newest count of each room that could not be published (raises while Redis
    still fails; what was published is forgotten)."""
    with _unpublished_lock:
        pending = dict(_unpublished)
    if not pending:
        return
    pipe = redis_access.client(settings.REDIS_URL).pipeline(transaction=False)
    for channel, (_key, payload) in pending.items():
        pipe.publish(channel, payload)
    pipe.execute()
    with _unpublished_lock:
        for channel, entry in pending.items():
            if _unpublished.get(channel) == entry:
                del _unpublished[channel]
    log.warning(
        "live counts: published the latest count of %d room(s) again after a Redis outage", len(pending)
    )


def publish_count(tenant_slug: str, shown: ShownCount) -> None:
    """Tell every process's viewers of the room its new count. Called after commit; never raises."""
    channel = groups.room_channel(tenant_slug, shown.room_name)
    payload = json.dumps(
        {"room": shown.room_name, "s": shown.session_id, "v": shown.version, "c": shown.count},
        separators=(",", ":"),
    )
    url = getattr(settings, "REDIS_URL", "")
    if url:
        breaker = redis_access.breaker(url)
        try:
            breaker.call(redis_access.client(url).publish, channel, payload)
        except RedisDown:  # the count is committed; published again when Redis answers (catch-up)
            with _unpublished_lock:
                known = _unpublished.get(channel)
                if known is None or known[0] < shown.key:
                    _unpublished[channel] = (shown.key, payload)
            breaker.on_recovery(_republish)
        return
    deliver_locally(channel, shown.room_name, shown.key, shown.count)
