"""`/ws/<tenant>/rooms/<room>/live/`: the viewer page's socket. It is a room-count socket (participants in the
meeting, from meetings.consumers' hub) that also counts as one watcher and carries the stream's state and the
watching count (meetings.streams.live)."""

from __future__ import annotations

from typing import Any

from django_scopes import scope as tenant_scope

from meetings.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, RoomCountConsumer, user_of
from meetings.models import Room
from meetings.streams import live
from meetings.streams.access import may_view, streamable
from meetings.streams.live import live_states
from portal.async_db import run_sync
from tenants.models import Tenant


def _viewable(tenant_slug: str, room_name: str, scope: dict[str, Any]) -> tuple[int, Room | None, bool]:
    """(0, room, live) when this person may watch the room's stream, else (close code, None, False)."""
    tenant = Tenant.objects.filter(slug=tenant_slug, is_active=True).first()
    if tenant is None:
        return CLOSE_NOT_FOUND, None, False
    with tenant_scope(tenant=tenant):  # the socket's tenant, from its URL
        room = Room.objects.filter(name=room_name).select_related("tenant", "stream").first()
        stream = streamable(room) if room is not None else None
        if room is None or stream is None:
            return CLOSE_NOT_FOUND, None, False
        if not may_view(user_of(scope), room, stream):
            return CLOSE_FORBIDDEN, None, False
        return 0, room, stream.is_live


class StreamViewerConsumer(RoomCountConsumer):
    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        self.tenant_slug = kwargs["tenant"]
        self.room_name = kwargs["room"]
        self.channels = []
        refused, room, is_live = await run_sync(_viewable, self.tenant_slug, self.room_name, self.scope)
        if refused or room is None:
            await self.close(code=refused or CLOSE_NOT_FOUND)
            return
        await self.accept()
        await self._watch([room])  # the participant count, as on the room's other pages
        hub = live.get_hub()
        state = await hub.add(self.tenant_slug, room.name, self.fanout_send, watching=True)
        self.stream_channel = state.channel
        # Read after registering: a change published in between then reaches this socket too.
        states = await live_states([state.channel])
        is_live = states.get(state.channel, is_live)
        hub.offer_state(state.channel, is_live)
        if state.sent_live is None:
            state.sent_live = state.live
        await self.send(text_data=live.state_frame(room.name, bool(state.live)))
        if state.sent_total is not None:
            await self.send(text_data=live.watching_frame(room.name, state.total))

    # disconnect(): RoomCountConsumer's lets go of both hubs (it knows self.stream_channel).
