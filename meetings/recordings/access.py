"""Who may see, play, download and change a recording.

| actor \\ visibility       | hosts | members | link |
|--------------------------|-------|---------|------|
| owner / co-host of room  | all   | all     | all  |
| member of the tenant     | 404   | watch   | watch|
| another tenant's member  | 404   | 404     | watch|
| guest with the link      | 404   | sign in | watch|

Hosts alone change, download and delete. A recording still processing is the hosts' only.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from meetings.access import is_host
from meetings.models import Room
from meetings.recordings.models import Recording
from tenants.access import membership_of
from tenants.models import Tenant


def is_member(user: Any, tenant: Tenant) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    membership = membership_of(user, tenant)
    return membership is not None and not membership.is_blocked


def may_manage(user: Any, recording: Recording) -> bool:
    return is_host(user, recording.room)


def may_watch(user: Any, recording: Recording) -> bool:
    if may_manage(user, recording):
        return True
    if recording.status != Recording.Status.READY or recording.room.archived:
        return False
    if recording.visibility == Recording.Visibility.LINK:
        return True
    if recording.visibility == Recording.Visibility.MEMBERS:
        return is_member(user, recording.tenant)
    return False


def needs_sign_in(user: Any, recording: Recording) -> bool:
    """An anonymous visitor of a members-only recording: sign in rather than 404."""
    return not getattr(user, "is_authenticated", False) and (
        recording.visibility == Recording.Visibility.MEMBERS and recording.status == Recording.Status.READY
    )


def listed_for(user: Any, room: Room) -> QuerySet[Recording]:
    """The recordings of a room a person sees in its catalogue: all for hosts, published ones for members."""
    recordings = Recording.objects.filter(tenant=room.tenant, room=room).select_related("series")
    if is_host(user, room):
        return recordings
    if is_member(user, room.tenant):
        return recordings.filter(
            status=Recording.Status.READY,
            visibility__in=[Recording.Visibility.MEMBERS, Recording.Visibility.LINK],
        )
    return recordings.none()


def published_for_member(
    tenant: Tenant, user: Any, rooms: Any, *, member: bool | None = None
) -> QuerySet[Recording]:
    """Published recordings of the given rooms (a student's lectures page); `member`: already known."""
    if not (is_member(user, tenant) if member is None else member):
        return Recording.objects.none()
    return (
        Recording.objects.filter(tenant=tenant, room__in=rooms, status=Recording.Status.READY)
        .filter(Q(visibility=Recording.Visibility.MEMBERS) | Q(visibility=Recording.Visibility.LINK))
        .select_related("room", "series")
    )
