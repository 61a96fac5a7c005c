"""`/ws/<tenant>/rooms/<room>/live/`: the viewer page's socket. It is a room-count socket (participants in the
meeting, from meetings.consumers' hub) that also counts as one watcher and carries the stream's state and the
watching count (meetings.streams.live)."""

from __future__ import annotations

from typing import Any

from meetings.consumers import CLOSE_FORBIDDEN, CLOSE_NOT_FOUND, RoomCountConsumer, _sync, user_of
from meetings.models import Room
from meetings.streams import live
from meetings.streams.access import may_view, streamable
from meetings.streams.models import RoomStream


def _viewable(tenant_slug: str, room_name: str, scope: dict[str, Any]) -> tuple[int, Room | None, bool]:
    """(0, room, live) when this person may watch the room's stream, else (close code, None, False)."""
    room = (
        Room.objects.filter(tenant__slug=tenant_slug, tenant__is_active=True, name=room_name)
        .select_related("tenant", "stream")
        .first()
    )
    stream = streamable(room) if room is not None else None
    if room is None or stream is None:
        return CLOSE_NOT_FOUND, None, False
    if not may_view(user_of(scope), room, stream):
        return CLOSE_FORBIDDEN, None, False
    return 0, room, stream.is_live


def _states(channels: list[str]) -> dict[str, bool]:
    wanted = {}
    for channel in channels:
        tenant_slug, room_name = channel.split(":stream:", 1)[1].split(":", 1)
        wanted[(tenant_slug, room_name)] = channel
    rows = RoomStream.objects.filter(
        room__name__in={name for _, name in wanted}, tenant__slug__in={slug for slug, _ in wanted}
    ).values_list("tenant__slug", "room__name", "live_since")
    return {wanted[(s, n)]: since is not None for s, n, since in rows if (s, n) in wanted}


async def live_states(channels: list[str]) -> dict[str, bool]:
    return await _sync(_states, channels)


class StreamViewerConsumer(RoomCountConsumer):
    async def connect(self) -> None:
        kwargs = self.scope["url_route"]["kwargs"]
        self.tenant_slug = kwargs["tenant"]
        self.room_name = kwargs["room"]
        self.channels = []
        refused, room, is_live = await _sync(_viewable, self.tenant_slug, self.room_name, self.scope)
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
