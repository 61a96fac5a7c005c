"""What portal/adapters/channels.py relies on in Channels: fails loudly when an upgrade changes it (the live
counts' consumers would otherwise run a loop that no longer does what Channels' own does)."""

from __future__ import annotations

import asyncio
import hashlib
import inspect

import channels
from channels.consumer import AsyncConsumer
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.layers import get_channel_layer

from portal.adapters.channels import LayerlessConsumer

# AsyncConsumer.__call__ of the Channels version this loop was compared with (4.3.2). A new digest means: read
# the new __call__, bring LayerlessConsumer.__call__ in line with what it does without a layer, update this.
AUDITED_CALL_SHA256 = "e52238720872dbc3f854519bc971aa7eb41553e63c8729081549ce42465ee419"


def test_channels_consumer_loop_is_the_one_the_adapter_mirrors():
    source = inspect.getsource(AsyncConsumer.__call__)
    digest = hashlib.sha256(source.encode()).hexdigest()
    assert digest == AUDITED_CALL_SHA256, (
        f"channels {channels.__version__} changed AsyncConsumer.__call__: re-audit portal/adapters/channels"
    )


def test_the_adapters_layer_alias_names_no_layer():
    assert get_channel_layer(LayerlessConsumer.channel_layer_alias) is None


class Echo(AsyncWebsocketConsumer):
    """A consumer that exercises connect, receive, send and close."""

    groups = ()

    async def connect(self):
        await self.accept()
        await self.send(text_data=f"hello {self.scope['path']}")

    async def receive(self, text_data=None, bytes_data=None):
        if text_data == "bye":
            await self.close(code=4000)
        else:
            await self.send(text_data=text_data.upper())


class LayerlessEcho(LayerlessConsumer, Echo):
    pass


async def converse(consumer_class):
    incoming = asyncio.Queue()
    for message in (
        {"type": "websocket.connect"},
        {"type": "websocket.receive", "text": "one"},
        {"type": "websocket.receive", "text": "two"},
        {"type": "websocket.receive", "text": "bye"},
        {"type": "websocket.disconnect", "code": 4000},
    ):
        incoming.put_nowait(message)
    sent = []

    async def send(message):
        sent.append(message)

    consumer = consumer_class()
    consumer.channel_layer_alias = LayerlessConsumer.channel_layer_alias  # no layer for Channels' loop either
    await asyncio.wait_for(consumer({"type": "websocket", "path": "/x/"}, incoming.get, send), timeout=5)
    return sent, consumer


def test_the_adapters_loop_does_what_channels_loop_does_without_a_layer():
    theirs, their_consumer = asyncio.run(converse(Echo))
    ours, our_consumer = asyncio.run(converse(LayerlessEcho))
    assert ours == theirs
    assert theirs[-1] == {"type": "websocket.close", "code": 4000}
    # Channels' loop sets these on the consumer; handlers (and the consumers) may read any of them.
    assert set(vars(our_consumer)) == set(vars(their_consumer))
    assert our_consumer.scope == their_consumer.scope
    assert our_consumer.channel_layer is their_consumer.channel_layer is None
