"""Who may join or host a room: the join access matrix, and room access codes.

Actors: the owner and co-hosts (hosts), members of the room's tenant, invitees, people signed in without any
tie to the room ("outsiders"), and anonymous visitors. Policies: tenant, link, invite (Room.Access).

| actor \\ policy | tenant        | link               | invite        |
|-----------------|---------------|--------------------|---------------|
| owner/co-host   | join (host)   | join (host)        | join (host)   |
| member          | join          | join               | not invited   |
| invitee         | join          | join               | join          |
| outsider        | 404           | join               | 404           |
| anonymous       | sign in first | join as guest      | sign in first |

An access code, when set, is asked of everyone but the hosts. The rooms of another tenant stay invisible
(404) to those who may not enter them, so that a room's existence does not leak across institutions.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.hashers import check_password, make_password
from django.db.models import BooleanField, Exists, OuterRef, Q, QuerySet, Value

from meetings.models import Room
from tenants.access import membership_of
from tenants.models import Membership, Tenant


class Verdict(enum.StrEnum):
    ALLOW = "allow"
    NOT_FOUND = "not_found"  # as if the room did not exist
    SIGN_IN = "sign_in"  # anonymous visitor of a room that needs an account
    NOT_INVITED = "not_invited"  # a member of the tenant, but the room is for invitees only


@dataclass(frozen=True)
class Viewer:
    """What a person is to one room."""

    is_authenticated: bool = False
    is_owner: bool = False
    is_co_host: bool = False
    is_member: bool = False
    is_invitee: bool = False

    @property
    def is_host(self) -> bool:
        return self.is_owner or self.is_co_host


def annotate_viewer(queryset: QuerySet[Room], user: Any) -> QuerySet[Room]:
    """Add what the user is to each room to the same query (a join then costs one query for the room)."""
    if not getattr(user, "is_authenticated", False):
        false = Value(False, output_field=BooleanField())
        return queryset.annotate(viewer_is_co_host=false, viewer_is_member=false, viewer_is_invitee=false)
    return queryset.annotate(
        viewer_is_co_host=Exists(
            Room.co_hosts.through.objects.filter(room_id=OuterRef("pk"), user_id=user.pk)
        ),
        viewer_is_invitee=Exists(
            Room.invitees.through.objects.filter(room_id=OuterRef("pk"), user_id=user.pk)
        ),
        viewer_is_member=Exists(
            Membership.objects.filter(tenant_id=OuterRef("tenant_id"), user_id=user.pk, is_blocked=False)
        ),
    )


def viewer_of(user: Any, room: Room) -> Viewer:
    """Read the annotations of annotate_viewer(); without them, ask the database."""
    if not getattr(user, "is_authenticated", False):
        return Viewer()
    if hasattr(room, "viewer_is_member"):
        return Viewer(
            is_authenticated=True,
            is_owner=room.owner_id == user.pk,
            is_co_host=bool(getattr(room, "viewer_is_co_host", False)),
            is_member=bool(getattr(room, "viewer_is_member", False)),
            is_invitee=bool(getattr(room, "viewer_is_invitee", False)),
        )
    return Viewer(
        is_authenticated=True,
        is_owner=room.owner_id == user.pk,
        is_co_host=room.co_hosts.filter(pk=user.pk).exists(),
        is_member=membership_of(user, room.tenant) is not None,
        is_invitee=room.invitees.filter(pk=user.pk).exists(),
    )


def decide(viewer: Viewer, room: Room) -> Verdict:
    """The access matrix above (the access code and the join window are checked afterwards)."""
    if room.archived:
        return Verdict.ALLOW if viewer.is_host else Verdict.NOT_FOUND
    if viewer.is_host or viewer.is_invitee:
        return Verdict.ALLOW
    if room.access == Room.Access.LINK:
        return Verdict.ALLOW
    if not viewer.is_authenticated:
        return Verdict.SIGN_IN
    if not viewer.is_member:
        return Verdict.NOT_FOUND
    if room.access == Room.Access.TENANT:
        return Verdict.ALLOW
    return Verdict.NOT_INVITED


def joinable_rooms(tenant: Tenant, user: Any) -> QuerySet[Room]:
    """Rooms of the tenant with the viewer annotations, for fetching one by name."""
    return annotate_viewer(Room.objects.of_tenant(tenant), user)


def rooms_for_api(user: Any) -> QuerySet[Room]:
    """Rooms a signed-in user may look up by name without a tenant in the URL: those of the tenants they
    belong to, rooms they host or are invited to, and link rooms."""
    return (
        annotate_viewer(Room.objects.all(), user)
        .filter(
            Q(viewer_is_member=True)
            | Q(owner_id=user.pk)
            | Q(viewer_is_co_host=True)
            | Q(viewer_is_invitee=True)
            | Q(access=Room.Access.LINK)
        )
        .select_related("tenant__deployment")
    )


def is_host(user: Any, room: Room) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return room.owner_id == user.pk or room.co_hosts.filter(pk=user.pk).exists()


def may_watch(user: Any, room: Room) -> bool:
    """May this user see the live count of the room? Those who may join it."""
    return decide(viewer_of(user, room), room) == Verdict.ALLOW


# Access codes: hashed with Django's password hashers, so a leaked database does not reveal them.


def set_access_code(room: Room, code: str) -> None:
    """Set (or with an empty code, remove) the room's access code. The caller saves `access_code_hash`."""
    code = code.strip()
    room.access_code_hash = make_password(code) if code else ""


def requires_access_code(room: Room) -> bool:
    return bool(room.access_code_hash)


def check_access_code(room: Room, code: str | None) -> bool:
    """True when the room has no code, or `code` is it."""
    if not room.access_code_hash:
        return True
    if not code:
        return False
    return check_password(code.strip(), room.access_code_hash)
