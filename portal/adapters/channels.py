"""Channels adapter: a consumer loop that keeps nothing of its own alive beside an idle websocket.

An idle viewer of a live count holds its connection for hours, so what a consumer keeps per connection is
memory per viewer. `AsyncConsumer.__call__` runs `await_many_dispatch([receive], dispatch)`, which wraps every
receive in a Task and waits on it with `asyncio.wait` (a waiter future, done callbacks): with Channels' own
loop an idle viewer cost 28.6-28.8 KiB against 25.3-25.4 KiB with this one (bench/fanout.py --memory-only,
README "Live counts"). `LayerlessConsumer` awaits the one source directly and dispatches the same messages in
the same order; it is only for async consumers without a channel layer. Routing and the origin check stay
Channels' own classes (portal/routing.py).

`tests/adapters/test_channels_contract.py` runs the same conversation through Channels' loop and this one and
compares what each sent and set, and pins the source of `AsyncConsumer.__call__`, so that a new Channels
version fails it loudly until this loop has been compared with the new one.
"""

from __future__ import annotations

from typing import Any

from channels.exceptions import StopConsumer
from channels.generic.websocket import AsyncWebsocketConsumer


class LayerlessConsumer(AsyncWebsocketConsumer):
    """An async websocket consumer without a channel layer; its loop awaits the client's messages itself."""

    channel_layer_alias = "__no_channel_layer__"  # names no layer: get_channel_layer() gives None
    groups = ()  # channels' default (None) gives every consumer an empty list of its own

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        # AsyncConsumer.__call__ with channel_layer None and an async consumer (its `send` kept as is).
        self.scope = scope
        self.channel_layer = None
        self.base_send = send
        try:
            while True:
                await self.dispatch(await receive())
        except StopConsumer:
            pass
