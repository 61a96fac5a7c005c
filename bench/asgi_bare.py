"""A bare ASGI application under Daphne, no Django or Channels: what Daphne itself keeps per idle viewer.

    bench/fanout.py --memory-only --asgi bench.asgi_bare:application

Each websocket is accepted, gets one count message and is then held until it closes (what an idle viewer
is to the server); `/healthz` answers for the benchmark's start-up check.

Not a strict floor for portal.asgi: fanout.py measures RSS growth, and this small fresh process grows its
heap for every connection, while a Django process first reuses memory freed during its start-up (measured
22.7 KiB here against 21.1-21.3 KiB for portal.asgi; tracemalloc counts about 22.5 KB of Python objects
per viewer in the latter, about 20 KB of them Daphne's connection state: Twisted, autobahn, its asyncio
queue).
"""

from __future__ import annotations

import json
from typing import Any


async def application(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] == "http":
        await send(
            {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]}
        )
        await send({"type": "http.response.body", "body": b"ok"})
        return
    if scope["type"] != "websocket":
        return
    while True:
        message = await receive()
        if message["type"] == "websocket.connect":
            await send({"type": "websocket.accept"})
            text = json.dumps(
                {"type": "participants", "room": scope["path"].rstrip("/").rsplit("/", 1)[-1], "count": 0}
            )
            await send({"type": "websocket.send", "text": text})
        elif message["type"] == "websocket.disconnect":
            return
