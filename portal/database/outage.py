"""What this process knows about PostgreSQL being reachable, so that an outage is a fast 503.

While PostgreSQL is known to be unreachable (a connection attempt was refused, timed out or met a server
shutting down), requests are refused at once instead of each waiting in the connection pool, so threads are
not held and joins decided from per-process copies keep being served. One request per PROBE_INTERVAL tries a
connection of its own: the first that succeeds ends the outage for the whole process.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

import psycopg

logger = logging.getLogger("portal.database")

PROBE_INTERVAL = 0.5  # seconds between attempts while down: how late, at most, the process notices recovery


class DatabaseUnavailable(psycopg.OperationalError):
    """Refused without trying: PostgreSQL was unreachable a moment ago (Django raises it as its
    OperationalError)."""


def means_unreachable(error: BaseException) -> bool:
    """A connection attempt's failure that says PostgreSQL is not there: no SQLSTATE (refused, reset, timed
    out, no route) or class 57 (shutting down, starting up, terminated by the administrator). Others (a wrong
    password, too many clients) are not an outage of the server, and pooled connections may still work."""
    if not isinstance(error, psycopg.OperationalError) or isinstance(error, DatabaseUnavailable):
        return False
    sqlstate = getattr(error, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith("57")


class Outage:
    def __init__(self, probe_interval: float = PROBE_INTERVAL) -> None:
        self.probe_interval = probe_interval
        self.down = False  # read without the lock on every connection: a stale answer costs one probe
        self.since = 0.0
        self._next_probe = 0.0
        self._lock = threading.Lock()

    def refuses(self) -> bool:
        """True: answer without trying. False also while down when it is this request's turn to probe."""
        if not self.down:
            return False
        with self._lock:
            now = time.monotonic()
            if not self.down or now >= self._next_probe:
                self._next_probe = now + self.probe_interval
                return False
            return True

    def failed(self, error: BaseException) -> None:
        if not means_unreachable(error):
            return
        with self._lock:
            now = time.monotonic()
            self._next_probe = now + self.probe_interval
            if not self.down:
                self.down, self.since = True, now
                logger.warning("PostgreSQL is unreachable (%s): answering 503 until it is back", error)

    def recovered(self) -> None:
        if not self.down:
            return
        with self._lock:
            if self.down:
                self.down = False
                logger.warning("PostgreSQL answers again after %.1f s", time.monotonic() - self.since)

    def unavailable(self) -> DatabaseUnavailable:
        return DatabaseUnavailable(
            "PostgreSQL is unreachable (refused without trying; checked again shortly)"
        )


outage = Outage()  # one per process: every thread's connections share the pool and its server


class TrackedConnection(psycopg.Connection[Any]):
    """The pool's connection class (OPTIONS["pool"]["connection_class"]): the pool's own connection attempts
    tell `outage`, so that the first refused reconnection ends the waiting of every request at once."""

    @classmethod
    def connect(cls, conninfo: str = "", **kwargs: Any) -> TrackedConnection:
        try:
            connection = super().connect(conninfo, **kwargs)
        except psycopg.OperationalError as error:
            outage.failed(error)
            raise
        outage.recovered()
        return connection
