"""Daphne adapter (Twisted and autobahn underneath): live-count frames built once and written straight to each
websocket connection's transport (meetings/consumers.py, LIVE_RAW_FRAMES).

It relies on Daphne handing applications `partial(server.handle_reply, protocol)`, on autobahn's
`_perMessageCompress` telling whether compression was negotiated, and on the buffer state of Twisted's TCP
transport (`_writeDisconnected`, `_tempDataBuffer`, `dataBuffer`, `offset`). `tests/adapters/
test_daphne_contract.py` fails when an upgrade of daphne, autobahn or Twisted changes any of that.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any


def raw_connection(send: Callable[..., Any]) -> Any:
    """The Daphne websocket connection behind a send callable, when frames may be written to it directly.

    Daphne hands each application `partial(server.handle_reply, protocol)`; for a plain `websocket.send` that
    builds the same frame for every socket through autobahn. The hub builds the frame once per update and
    writes it to each connection's transport instead: an unmasked, unfragmented text frame is all RFC 6455
    asks of a server, and no extension (compression) is negotiated by Daphne. Anything else (another
    server, the test communicator) gets None and the ordinary send."""
    if not isinstance(send, functools.partial) or len(send.args) != 1 or send.keywords:
        return None
    connection = send.args[0]
    if getattr(send.func, "__name__", "") != "handle_reply" or not hasattr(connection, "STATE_OPEN"):
        return None
    if getattr(connection, "transport", None) is None or getattr(connection, "_perMessageCompress", None):
        return None
    return connection


try:
    from twisted.internet import tcp as _twisted_tcp
except ImportError:  # not running under Daphne
    _twisted_tcp = None  # type: ignore[assignment]  # the fast path below is then never taken
_TcpServer: Any = getattr(_twisted_tcp, "Server", None)


def write_now(transport: Any, data: bytes) -> None:
    """Write to a connection now when nothing is queued for it: one non-blocking send instead of Twisted's
    buffer-register-send-unregister round through the reactor. Anything unsent goes the ordinary way, so the
    byte order on the socket is the same either way."""
    if (
        _TcpServer is not None
        and type(transport) is _TcpServer
        and transport.connected
        and not transport._writeDisconnected
        and not transport._tempDataBuffer
        and transport.offset >= len(transport.dataBuffer)
    ):
        try:
            sent = transport.socket.send(data)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # the connection is gone; Twisted notices on its next read
        if sent == len(data):
            return
        data = data[sent:]
    transport.write(data)
