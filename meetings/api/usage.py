"""Live count of a room (whoever may see the room) and usage statistics (administrators, scope `admin`)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from meetings.api.rooms import READ, RoomViewBase
from meetings.live import shown_count
from meetings.statistics import tenant_usage
from tenants.api.errors import form_errors
from tenants.api.permissions import TenantScoped, api_context
from tenants.api.schema import TENANT_PARAMETER
from tenants.forms import PeriodForm
from tenants.models import ApiToken


class CountSerializer(serializers.Serializer[Any]):
    type = serializers.CharField(help_text='Always "participants" (the websocket message\'s shape).')
    room = serializers.CharField()
    count = serializers.IntegerField(min_value=0, help_text="People in the meeting now, as Prosody reports.")


class RoomCountView(RoomViewBase):
    required_scopes = {"GET": READ}
    serializer_class = CountSerializer

    @extend_schema(
        summary="People in a room's meeting right now",
        description="The same number the websocket /ws/<tenant>/rooms/<room>/ pushes on every change.",
        parameters=[TENANT_PARAMETER],
    )
    def get(self, request: Request, room: str) -> Response:
        shown = shown_count(self.get_room())
        return Response({"type": "participants", "room": shown.room_name, "count": shown.count})


class DaySerializer(serializers.Serializer[Any]):
    day = serializers.DateField()
    meetings = serializers.IntegerField()
    participant_minutes = serializers.FloatField()
    peak_concurrent = serializers.IntegerField()


class BusyRoomSerializer(serializers.Serializer[Any]):
    room = serializers.CharField()
    participant_minutes = serializers.FloatField()


class AttendanceSerializer(serializers.Serializer[Any]):
    series = serializers.CharField()
    room = serializers.CharField()
    start = serializers.DateTimeField()
    attendees = serializers.IntegerField()


class UsageSerializer(serializers.Serializer[Any]):
    first = serializers.DateField()
    last = serializers.DateField()
    meetings = serializers.IntegerField()
    participant_minutes = serializers.FloatField()
    peak_concurrent = serializers.IntegerField()
    days = DaySerializer(many=True)
    busiest = BusyRoomSerializer(many=True)
    attendance = AttendanceSerializer(many=True)


class UsageView(generics.GenericAPIView[Any]):
    permission_classes = [TenantScoped]
    required_scopes = {"GET": ApiToken.Scope.ADMIN}
    serializer_class = UsageSerializer

    @extend_schema(
        summary="Usage of your institution's meetings (administrators)",
        description=(
            "Per local day of the institution's time zone: meetings started, participant-minutes and peak "
            "concurrent participants; the busiest rooms and lecture attendance. At most a year; the last 30 "
            "days when no period is given."
        ),
        parameters=[
            TENANT_PARAMETER,
            OpenApiParameter("first", str, description="First day, YYYY-MM-DD"),
            OpenApiParameter("last", str, description="Last day, YYYY-MM-DD"),
        ],
    )
    def get(self, request: Request) -> Response:
        tenant = api_context(request).tenant
        today = timezone.localtime(timezone.now(), ZoneInfo(tenant.time_zone)).date()
        data: dict[str, Any] = {"first": today - timedelta(days=29), "last": today}
        data.update(
            {key: request.query_params[key] for key in ("first", "last") if key in request.query_params}
        )
        form = PeriodForm(data)
        if not form.is_valid():
            raise form_errors(form)
        usage = tenant_usage(tenant, first=form.cleaned_data["first"], last=form.cleaned_data["last"])
        body = {
            "first": usage.first,
            "last": usage.last,
            "meetings": usage.meetings,
            "participant_minutes": usage.participant_minutes,
            "peak_concurrent": usage.peak_concurrent,
            "days": usage.days,
            "busiest": [{"room": room, "participant_minutes": minutes} for room, minutes in usage.busiest],
            "attendance": usage.attendance,
        }
        return Response(UsageSerializer(body).data)
