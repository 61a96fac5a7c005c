"""Room endpoints: list, create, read, update, archive, co-hosts. Thin: resolve, check, call meetings.services
(the same services as the pages).

Who sees what (one place, `listed_rooms` / `readable_rooms`):
- admins of the tenant: every room of the tenant;
- everyone else lists the rooms they own, co-host or are invited to, and may also read a room of the
  `tenant` or `link` kind by its name (knowing the name is what such a room asks for);
- rooms of other tenants do not exist (404)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, generics, mixins, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from meetings import services
from meetings.api.serializers import (
    CoHostInputSerializer,
    PersonSerializer,
    RoomCreateSerializer,
    RoomSerializer,
    RoomUpdateSerializer,
)
from meetings.models import Room
from tenants.api.errors import service_errors
from tenants.api.permissions import ApiContext, TenantScoped, api_context
from tenants.api.schema import TENANT_PARAMETER
from tenants.models import ApiToken, Membership, User
from tenants.requests import ApiRequest

READ = ApiToken.Scope.ROOMS_READ
WRITE = ApiToken.Scope.ROOMS_WRITE


def _base(context: ApiContext) -> QuerySet[Room]:
    return (
        Room.objects.of_tenant(context.tenant)
        .select_related("owner", "tenant")
        .prefetch_related("co_hosts")
        .order_by("title", "pk")
    )


def _own(user: Any) -> Q:
    return (
        Q(owner=user)
        | Q(pk__in=Room.co_hosts.through.objects.filter(user=user).values("room_id"))
        | Q(pk__in=Room.invitees.through.objects.filter(user=user).values("room_id"))
    )


def listed_rooms(context: ApiContext) -> QuerySet[Room]:
    rooms = _base(context)
    if context.membership.is_admin:
        return rooms
    return rooms.filter(_own(context.membership.user_id))


def readable_rooms(context: ApiContext) -> QuerySet[Room]:
    rooms = _base(context)
    if context.membership.is_admin:
        return rooms
    return rooms.filter(
        _own(context.membership.user_id) | Q(access__in=[Room.Access.TENANT, Room.Access.LINK])
    )


def may_change(context: ApiContext, room: Room) -> bool:
    user_id = context.membership.user_id
    if context.membership.is_admin or room.owner_id == user_id:
        return True
    return any(person.pk == user_id for person in room.co_hosts.all())


class RoomViewBase(generics.GenericAPIView[Room]):
    permission_classes = [TenantScoped]
    serializer_class: type[BaseSerializer[Any]] = RoomSerializer
    lookup_url_kwarg = "room"

    def get_queryset(self) -> QuerySet[Room]:
        if getattr(self, "swagger_fake_view", False):
            return Room.objects.none()  # schema generation: no request to resolve
        return readable_rooms(api_context(self.request))

    def get_object(self) -> Room:
        # What DRF's OPTIONS (SimpleMetadata) calls to decide whether to describe PUT: the room to change.
        return self.get_room(change=True)

    def get_room(self, *, change: bool = False, owner_only: bool = False) -> Room:
        context = api_context(self.request)
        room = readable_rooms(context).filter(name=self.kwargs["room"]).first()
        if room is None:
            raise exceptions.NotFound(
                _("There is no room “%(room)s” here that you can see.") % {"room": self.kwargs["room"]}
            )
        if owner_only and not (context.membership.is_admin or room.owner_id == context.membership.user_id):
            raise exceptions.PermissionDenied(
                _("Only the room's owner or an administrator may do this."), code="not_owner"
            )
        if change and not may_change(context, room):
            raise exceptions.PermissionDenied(_("Only the room's hosts may change it."), code="not_host")
        return room


ARCHIVED_PARAMETER = OpenApiParameter(
    name="archived",
    type=bool,
    required=False,
    description="true lists archived rooms instead of active ones.",
)


class RoomListView(mixins.ListModelMixin, RoomViewBase):
    required_scopes = {"GET": READ, "POST": WRITE}

    def get_queryset(self) -> QuerySet[Room]:
        rooms = listed_rooms(api_context(self.request))
        archived = self.request.query_params.get("archived", "false").lower() in {"1", "true", "yes"}
        return rooms.filter(archived=archived)

    @extend_schema(summary="List rooms", parameters=[ARCHIVED_PARAMETER, TENANT_PARAMETER])
    def get(self, request: Request) -> Response:
        return self.list(request)

    @extend_schema(
        summary="Create a room (hosts)",
        request=RoomCreateSerializer,
        responses={201: RoomSerializer},
        parameters=[TENANT_PARAMETER],
    )
    def post(self, request: ApiRequest) -> Response:
        context = api_context(request)
        incoming = RoomCreateSerializer(data=request.data, context={"tenant": context.tenant})
        incoming.is_valid(raise_exception=True)
        fields = dict(incoming.validated_data)
        public_name = fields.pop("name", "")
        # A name taken meanwhile (a race past the serializer's check) is the service's to refuse.
        with service_errors(field="name"):
            room = services.create_room(
                actor=request.user,
                tenant=context.tenant,
                public_name=public_name,
                **fields,
            )
        room = _base(context).get(pk=room.pk)
        return Response(self.get_serializer(room).data, status=status.HTTP_201_CREATED)


class RoomDetailView(RoomViewBase):
    required_scopes = {"GET": READ, "PATCH": WRITE, "PUT": WRITE}

    @extend_schema(summary="Show a room", parameters=[TENANT_PARAMETER])
    def get(self, request: Request, room: str) -> Response:
        return Response(self.get_serializer(self.get_room()).data)

    def _update(self, request: ApiRequest, *, partial: bool) -> Response:
        target = self.get_room(change=True)
        incoming = RoomUpdateSerializer(target, data=request.data, partial=partial)
        incoming.is_valid(raise_exception=True)
        with service_errors():
            services.update_room(actor=request.user, room=target, **incoming.validated_data)
        return Response(self.get_serializer(self.get_room()).data)

    @extend_schema(
        summary="Change a room (its hosts)",
        request=RoomUpdateSerializer,
        responses={200: RoomSerializer},
        parameters=[TENANT_PARAMETER],
    )
    def put(self, request: ApiRequest, room: str) -> Response:
        return self._update(request, partial=False)

    @extend_schema(
        summary="Change some of a room's settings (its hosts)",
        request=RoomUpdateSerializer,
        responses={200: RoomSerializer},
        parameters=[TENANT_PARAMETER],
    )
    def patch(self, request: ApiRequest, room: str) -> Response:
        return self._update(request, partial=True)


class RoomArchiveView(RoomViewBase):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        summary="Archive a room (its hosts)",
        request=None,
        responses={200: RoomSerializer},
        parameters=[TENANT_PARAMETER],
    )
    def post(self, request: ApiRequest, room: str) -> Response:
        services.archive_room(actor=request.user, room=self.get_room(change=True))
        return Response(self.get_serializer(self.get_room()).data)


class CoHostListView(RoomViewBase):
    required_scopes = {"GET": READ, "POST": WRITE}
    serializer_class = PersonSerializer
    pagination_class = None  # a room has a handful of co-hosts

    @extend_schema(
        summary="List a room's co-hosts",
        responses={200: PersonSerializer(many=True)},
        parameters=[TENANT_PARAMETER],
    )
    def get(self, request: Request, room: str) -> Response:
        return Response(PersonSerializer(self.get_room().co_hosts.all(), many=True).data)

    @extend_schema(
        summary="Add a co-host (the room's owner or an administrator)",
        request=CoHostInputSerializer,
        responses={200: PersonSerializer(many=True)},
        parameters=[TENANT_PARAMETER],
    )
    def post(self, request: ApiRequest, room: str) -> Response:
        context = api_context(request)
        target = self.get_room(owner_only=True)
        incoming = CoHostInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        person = self._member(context, incoming.validated_data["user"])
        if person.pk == target.owner_id:
            raise exceptions.ValidationError({"user": [_("The owner hosts the room already.")]})
        with service_errors(field="user"):
            services.add_co_host(actor=request.user, room=target, user=person)
        return Response(PersonSerializer(target.co_hosts.all(), many=True).data)

    @staticmethod
    def _member(context: ApiContext, public_id: Any) -> User:
        membership = (
            Membership.objects.select_related("user")
            .filter(tenant=context.tenant, is_blocked=False, user__public_id=public_id)
            .first()
        )
        if membership is None:
            raise exceptions.ValidationError({"user": [_("No member of this institution has this id.")]})
        return membership.user


class CoHostDetailView(RoomViewBase):
    required_scopes = {"DELETE": WRITE}
    serializer_class = PersonSerializer

    @extend_schema(
        summary="Remove a co-host (the room's owner or an administrator)",
        responses={204: None},
        parameters=[TENANT_PARAMETER],
    )
    def delete(self, request: ApiRequest, room: str, user: Any) -> Response:
        target = self.get_room(owner_only=True)
        person = next((p for p in target.co_hosts.all() if p.public_id == user), None)
        if person is None:
            raise exceptions.NotFound(_("This person is not a co-host of the room."))
        services.remove_co_host(actor=request.user, room=target, user=person)
        return Response(status=status.HTTP_204_NO_CONTENT)
