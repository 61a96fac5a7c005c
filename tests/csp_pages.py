"""The portal's pages by actor, for the Content-Security-Policy tests (test client and Chromium)."""

from __future__ import annotations

from typing import Any

from meetings.models import Room
from tests.meetings.helpers import make_room, make_series


def site(tenant: Any, host: Any) -> dict[str, list[str]]:
    """URLs each actor visits: anonymous, member (student), host (lecturer), admin of the tenant."""
    room = make_room(host, tenant, title="Policy lecture")
    open_room = make_room(host, tenant, title="Open room", access=Room.Access.LINK)
    series = make_series(room)
    t = f"/{tenant.slug}"
    series_url = f"{t}/rooms/{room.name}/series/{series.code}/"
    anonymous = ["/", f"{t}/", f"{t}/r/{open_room.name}/", "/new/", "/api/v1/docs/", "/api/v1/docs/redoc/"]
    member = [f"{t}/", f"{t}/lectures/", f"{t}/settings/tokens/", f"{t}/r/{open_room.name}/"]
    lecturer = [
        f"{t}/rooms/",
        f"{t}/rooms/new/",
        f"{t}/rooms/{room.name}/",
        f"{t}/rooms/{room.name}/edit/",
        f"{t}/rooms/{room.name}/share/",
        f"{t}/rooms/{room.name}/people/",
        f"{t}/rooms/{room.name}/series/new/",
        series_url,
        f"{series_url}edit/",
        f"{series_url}delete/",
        f"{t}/lectures/",
        f"{t}/r/{room.name}/",  # the meeting page (the host may join at any time)
    ]
    admin = [
        f"{t}/manage/",
        f"{t}/manage/branding/",
        f"{t}/manage/members/",
        f"{t}/manage/statistics/",
        f"{t}/manage/audit/",
        f"{t}/manage/deployment/",
    ]
    return {"anonymous": anonymous, "member": member, "host": lecturer, "admin": admin}
