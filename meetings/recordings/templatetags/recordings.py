"""Small sections other pages include: a room's recordings (room page), published ones (lectures page)."""

from __future__ import annotations

from typing import Any

from django import template

from meetings.recordings import access

register = template.Library()


@register.inclusion_tag("recordings/_list.html", takes_context=True)
def room_recordings(context: dict[str, Any], room: Any, limit: int = 5) -> dict[str, Any]:
    request = context["request"]
    recordings = list(access.listed_for(request.user, room)[: limit + 1])
    return {
        "recordings": recordings[:limit],
        "more": len(recordings) > limit,
        "room": room,
        "tenant": room.tenant,
        "show_room": False,
    }


@register.inclusion_tag("recordings/_list.html", takes_context=True)
def published_recordings(context: dict[str, Any], rooms: Any, limit: int = 20) -> dict[str, Any]:
    request = context["request"]
    tenant = request.tenant
    # A member page has checked the membership already (tenants.access.tenant_page): no second query.
    membership = getattr(request, "membership", None)
    known = (membership is not None and not membership.is_blocked) if hasattr(request, "membership") else None
    recordings = list(
        access.published_for_member(tenant, request.user, [r.pk for r in rooms], member=known)[:limit]
    )
    return {"recordings": recordings, "more": False, "room": None, "tenant": tenant, "show_room": True}
