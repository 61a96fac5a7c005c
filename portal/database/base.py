"""Django's PostgreSQL backend (psycopg 3 and its pool) with fast refusals during an outage and no failure
after it.

- While `outage` knows PostgreSQL is unreachable, a new connection is refused at once (DatabaseUnavailable,
  which Django raises as OperationalError and portal/errors.py answers with 503 and Retry-After), except for
  one request per probe interval, which tries a connection of its own (not the pool's, whose waiting lasts
  DB_POOL_TIMEOUT) and ends the outage when it works.
- A pooled connection that died while idle (PostgreSQL restarted: its socket holds the server's goodbye or
  has been closed) is dropped and another taken, so no request fails after PostgreSQL is back. Checking costs
  a poll() of the socket, no round trip; only a connection with something to read is checked with a query
  (psycopg_pool's own check). Django passes the pool a `check` only with CONN_HEALTH_CHECKS, which would
  spend a round trip on every connection handed out (every Prosody event).
"""

from __future__ import annotations

import select
from typing import Any

import psycopg
from django.db.backends.postgresql import base
from psycopg_pool import ConnectionPool, PoolTimeout

from portal.database.outage import TrackedConnection, outage


def died_while_idle(connection: psycopg.Connection[Any]) -> bool:
    if connection.closed or connection.broken:
        return True
    poller = select.poll()
    poller.register(connection.fileno(), select.POLLIN | select.POLLPRI)
    if not poller.poll(0):
        return False  # nothing arrived while it was idle: the usual case
    try:
        ConnectionPool.check_connection(connection)
    except psycopg.Error:
        return True
    return False


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, settings_dict: dict[str, Any], *args: Any, **kwargs: Any) -> None:
        super().__init__(settings_dict, *args, **kwargs)
        pool_options = self.settings_dict["OPTIONS"].get("pool")
        if pool_options is True:
            pool_options = self.settings_dict["OPTIONS"]["pool"] = {}
        if isinstance(pool_options, dict):
            # The pool's own connection attempts tell the outage tracker (ConnectionPool's documented
            # `connection_class` argument, which Django passes on from OPTIONS["pool"]).
            pool_options.setdefault("connection_class", TrackedConnection)

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        if outage.refuses():
            raise outage.unavailable()
        pool = self.pool
        if outage.down and pool is not None:
            self._probe(conn_params)
        try:
            connection = super().get_new_connection(conn_params)
        except psycopg.OperationalError as error:
            if not isinstance(error, PoolTimeout):  # a busy pool is not an outage
                outage.failed(error)
            raise
        if pool is not None:
            connection = self._alive(pool, connection)
        outage.recovered()
        return connection

    def _probe(self, conn_params: dict[str, Any]) -> None:
        """This request's turn to see whether PostgreSQL is back: a connection of its own, so that a refusal
        is immediate (the pool would keep it waiting DB_POOL_TIMEOUT)."""
        try:
            self.Database.connect(**conn_params).close()
        except psycopg.OperationalError as error:
            outage.failed(error)
            raise
        outage.recovered()

    def _alive(self, pool: ConnectionPool[Any], connection: Any) -> Any:
        """The connection, or another one from the pool when it died while idle (each dead one is closed and
        handed back, which makes the pool replace it)."""
        for _attempt in range(pool.max_size + 1):
            if not died_while_idle(connection):
                return connection
            connection.close()
            pool.putconn(connection)
            connection = pool.getconn()
            if "isolation_level" in self.settings_dict["OPTIONS"]:  # as Django sets it on the first one
                # Django's get_new_connection set it on self just before; django-stubs do not declare it.
                connection.isolation_level = self.isolation_level  # type: ignore[attr-defined]
        return connection
