"""What portal/adapters/daphne.py relies on in daphne, autobahn and Twisted: fails loudly when an upgrade
changes it (then the live-count fan-out would silently fall back to, or worse bypass, the ordinary send)."""

from __future__ import annotations

import functools
import inspect

import autobahn.websocket.protocol as autobahn_protocol
from daphne import server, ws_protocol
from twisted.internet import abstract, tcp

from portal.adapters.daphne import raw_connection


def test_daphne_still_hands_applications_a_partial_of_handle_reply():
    assert list(inspect.signature(server.Server.handle_reply).parameters) == ["self", "protocol", "message"]
    assert "partial(self.handle_reply, protocol)" in inspect.getsource(server.Server)


def test_daphnes_websocket_protocol_is_autobahns_with_its_compression_flag():
    assert issubclass(ws_protocol.WebSocketProtocol, autobahn_protocol.WebSocketServerProtocol)
    assert hasattr(ws_protocol.WebSocketProtocol, "STATE_OPEN")
    assert "self._perMessageCompress" in inspect.getsource(autobahn_protocol.WebSocketProtocol)


def test_twisteds_tcp_transport_keeps_the_buffer_state_read_before_a_direct_send():
    assert issubclass(tcp.Server, abstract.FileDescriptor)
    source = inspect.getsource(abstract.FileDescriptor)
    for name in ("_writeDisconnected", "_tempDataBuffer", "dataBuffer", "offset"):
        assert f"self.{name}" in source or f"{name} =" in source, name


def test_only_daphnes_own_sender_is_taken_for_a_raw_connection():
    class Protocol:
        STATE_OPEN = 3
        transport = object()
        _perMessageCompress = None

    def handle_reply(protocol, message):
        return None

    assert raw_connection(functools.partial(handle_reply, Protocol())) is not None
    compressed = Protocol()
    compressed._perMessageCompress = object()
    assert raw_connection(functools.partial(handle_reply, compressed)) is None
    assert raw_connection(functools.partial(print, Protocol())) is None
