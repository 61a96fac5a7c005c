"""Recording endpoints: a room's recordings, one recording (with short-lived playback links), change its
title, visibility or keep-until date, delete it. Tenant rules as for rooms: the tenant comes from the
request, another tenant's recordings do not exist (404), and a recording someone may not watch is a 404."""

from __future__ import annotations

from typing import Any, cast

from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, status
from rest_framework.request import Request
from rest_framework.response import Response

from meetings.api.rooms import readable_rooms
from meetings.recordings import access, services
from meetings.recordings.api.serializers import RecordingChangeSerializer, RecordingSerializer
from meetings.recordings.models import Recording
from tenants.api.permissions import TenantScoped, api_context
from tenants.api.schema import TENANT_PARAMETER
from tenants.models import ApiToken, User

READ = ApiToken.Scope.ROOMS_READ
WRITE = ApiToken.Scope.ROOMS_WRITE


class RoomRecordingListView(generics.ListAPIView[Recording]):
    permission_classes = [TenantScoped]
    serializer_class = RecordingSerializer
    required_scopes = {"GET": READ}

    def get_queryset(self) -> Any:
        if getattr(self, "swagger_fake_view", False):
            return Recording.objects.none()
        context = api_context(self.request)
        room = readable_rooms(context).filter(name=self.kwargs["room"], archived=False).first()
        if room is None:
            raise exceptions.NotFound(
                _("There is no room “%(room)s” here that you can see.") % {"room": self.kwargs["room"]}
            )
        return (
            access.listed_for(self.request.user, room)
            .select_related("room", "tenant")
            .order_by("-ended_at", "-pk")
        )

    @extend_schema(summary="List a room's recordings", parameters=[TENANT_PARAMETER])
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class RecordingDetailView(generics.GenericAPIView[Recording]):
    permission_classes = [TenantScoped]
    serializer_class = RecordingSerializer
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    def get_queryset(self) -> Any:
        return Recording.objects.none()

    def recording(self, *, change: bool = False) -> Recording:
        context = api_context(self.request)
        found = (
            Recording.objects.filter(tenant=context.tenant, code=self.kwargs["recording"])
            .select_related("room", "tenant", "series")
            .first()
        )
        if found is None or not access.may_watch(self.request.user, found):
            raise exceptions.NotFound(_("No such recording."))
        if change and not access.may_manage(self.request.user, found):
            raise exceptions.PermissionDenied(
                _("Only the room's hosts may change its recordings."), code="not_host"
            )
        return found

    @extend_schema(
        summary="Show a recording (with a short-lived playback link)", parameters=[TENANT_PARAMETER]
    )
    def get(self, request: Request, recording: str) -> Response:
        return Response(self.get_serializer(self.recording()).data)

    @extend_schema(
        summary="Change a recording's title, visibility or keep-until date (its hosts)",
        request=RecordingChangeSerializer,
        responses={200: RecordingSerializer},
        parameters=[TENANT_PARAMETER],
    )
    def patch(self, request: Request, recording: str) -> Response:
        target = self.recording(change=True)
        incoming = RecordingChangeSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        actor = cast(User, request.user)
        try:
            if "title" in data:
                services.rename_recording(actor=actor, recording=target, title=data["title"])
            if "visibility" in data:
                services.change_visibility(actor=actor, recording=target, visibility=data["visibility"])
            if "keep_until" in data:
                services.set_keep_until(actor=actor, recording=target, keep_until=data["keep_until"])
        except ValueError as exc:
            raise exceptions.ValidationError({"non_field_errors": [str(exc)]}) from exc
        return Response(self.get_serializer(self.recording()).data)

    @extend_schema(
        summary="Delete a recording (its hosts)", responses={204: None}, parameters=[TENANT_PARAMETER]
    )
    def delete(self, request: Request, recording: str) -> Response:
        target = self.recording(change=True)
        services.delete_recording(actor=cast(User, request.user), recording=target)
        return Response(status=status.HTTP_204_NO_CONTENT)
