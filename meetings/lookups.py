"""Access helpers for room pages: one query by tenant and person; 404 for "missing" and "not yours"."""

from __future__ import annotations

from typing import Any, cast

from django.db.models import Q
from django.http import Http404, HttpRequest
from django.utils.translation import gettext as _

from meetings.models import LectureSeries, Room
from tenants.models import Tenant, User
from tenants.requests import MemberRequest


def _member(request: HttpRequest) -> MemberRequest:
    return cast(MemberRequest, request)  # these serve views behind tenants.access.tenant_page


def hosted_rooms(tenant: Tenant, user: User) -> Any:
    """Rooms of `tenant` the user owns or co-hosts (a subquery keeps rows unique without DISTINCT)."""
    co_hosted = Room.co_hosts.through.objects.filter(user_id=user.pk).values("room_id")
    return Room.objects.filter(Q(owner=user) | Q(pk__in=co_hosted), tenant=tenant)


def get_room_for_host(request: HttpRequest, name: str) -> Room:
    """An active room of request.tenant that request.user owns or co-hosts; 404 otherwise."""
    member = _member(request)
    room = (
        hosted_rooms(member.tenant, member.user)
        .filter(name=name, archived=False)
        .select_related("owner", "tenant")
        .first()
    )
    if room is None:
        raise Http404(_("No such room."))
    return room


def get_room_for_owner(request: HttpRequest, name: str) -> Room:
    """Owner-only actions (co-hosts, archive, transfer) look rooms up by owner."""
    member = _member(request)
    room = (
        Room.objects.filter(tenant=member.tenant, owner=member.user, name=name, archived=False)
        .select_related("owner", "tenant")
        .first()
    )
    if room is None:
        raise Http404(_("No such room."))
    return room


def get_series_for_host(request: HttpRequest, name: str, code: str) -> LectureSeries:
    user = cast(User, request.user)  # the decorators above ran: signed in
    co_hosted = Room.co_hosts.through.objects.filter(user_id=user.pk).values("room_id")
    series = (
        LectureSeries.objects.filter(
            Q(room__owner=user) | Q(room__in=co_hosted),
            tenant=_member(request).tenant,
            room__tenant=_member(request).tenant,
            room__name=name,
            room__archived=False,
            code=code,
        )
        .select_related("room", "room__tenant", "tenant")
        .first()
    )
    if series is None:
        raise Http404(_("No such lecture series."))
    return series


def rooms_open_to(tenant: Tenant, user: User) -> Any:
    """Active rooms of `tenant` listed to a member: tenant-wide ones and those they host or are invited to.

    Link-only and invite rooms are unlisted for everybody else."""
    co_hosted = Room.co_hosts.through.objects.filter(user_id=user.pk).values("room_id")
    invited = Room.invitees.through.objects.filter(user_id=user.pk).values("room_id")
    return Room.objects.filter(
        Q(access=Room.Access.TENANT) | Q(owner=user) | Q(pk__in=co_hosted) | Q(pk__in=invited),
        tenant=tenant,
        archived=False,
    )
