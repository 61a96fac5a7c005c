"""Lecture series and their lectures. Thin: resolve, check, call meetings.services (as the pages do).

- `rooms/<room>/series/`: list a room's series, schedule one;
- `series/<code>/`: show, change (PATCH, checked as the whole rule it results in), delete;
- `series/<code>/occurrences/?from=&to=`: the lectures in a range, computed with cancellations and moves;
- `series/<code>/occurrences/<key>/cancel|move|restore/`: change one lecture. `key` is the lecture's
  original start in UTC as in the pages' lecture URLs (`20260302T091500Z`); an ISO 8601 time with its
  offset (`2026-03-02T10:15:00+01:00`) names the same lecture.

Who: the hosts of the room (owner, co-hosts) and the institution's administrators, as for changing a room.
Members who can see the room get 403 (`not_host`); rooms they cannot see and other institutions' series
answer 404. Reading needs the scope rooms:read, every change rooms:write. Series of an archived room can be
read but not changed (409)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.serializers import BaseSerializer

from meetings import recurrence, services
from meetings.api.rooms import READ, WRITE, RoomViewBase, may_change
from meetings.api.serializers import (
    CancelInputSerializer,
    MoveInputSerializer,
    OccurrenceSerializer,
    SeriesInputSerializer,
    SeriesSerializer,
)
from meetings.models import LectureSeries, Room
from meetings.recurrence import SERIES_YEARS
from tenants.api.errors import Conflict, ErrorSerializer, service_errors
from tenants.api.permissions import ApiContext, api_context
from tenants.api.schema import TENANT_PARAMETER
from tenants.requests import ApiRequest

DEFAULT_RANGE = timedelta(days=180)
MAX_RANGE = timedelta(days=400)
YEARS = SERIES_YEARS  # no lecture lies beyond; date arithmetic there would overflow

ARCHIVED_RESPONSE = {409: ErrorSerializer}


def _series(context: ApiContext) -> QuerySet[LectureSeries]:
    return (
        LectureSeries.objects.filter(tenant=context.tenant, room__tenant=context.tenant)
        .select_related("tenant", "room", "room__tenant", "room__owner")
        .prefetch_related("room__co_hosts")
    )


def _refuse_archived(room: Room) -> None:
    if room.archived:
        raise Conflict(
            _("The room “%(room)s” is archived: its lecture series can no longer be changed.")
            % {"room": room.name},
            code="room_archived",
        )


class SeriesViewBase(RoomViewBase):
    serializer_class: type[BaseSerializer[Any]] = SeriesSerializer
    lookup_url_kwarg = "code"

    def get_object(self) -> LectureSeries:  # type: ignore[override]  # a series view's object is a series
        # What DRF's OPTIONS (SimpleMetadata) calls to decide whether to describe PUT.
        return self.get_series(change=True)

    def get_series(self, *, change: bool = False, with_changes: bool = False) -> LectureSeries:
        context = api_context(self.request)
        code = self.kwargs["code"]
        series_list = _series(context)
        if with_changes:
            series_list = series_list.prefetch_related("changes")
        series = series_list.filter(code=code).first()
        if series is None or not self._may_see_room(context, series.room):
            raise exceptions.NotFound(
                _("There is no lecture series “%(code)s” here that you can see.") % {"code": code}
            )
        if not may_change(context, series.room):
            raise exceptions.PermissionDenied(
                _("Only the room's hosts may see and change its lecture series."), code="not_host"
            )
        if change:
            _refuse_archived(series.room)
        return series

    @staticmethod
    def _may_see_room(context: ApiContext, room: Room) -> bool:
        """As rooms.readable_rooms: hosts see 403 where they may not act, others learn nothing (404)."""
        if may_change(context, room) or room.access in {Room.Access.TENANT, Room.Access.LINK}:
            return True
        user_id = context.membership.user_id
        return Room.invitees.through.objects.filter(room_id=room.pk, user_id=user_id).exists()


class RoomSeriesListView(mixins.ListModelMixin, SeriesViewBase):
    required_scopes = {"GET": READ, "POST": WRITE}
    lookup_url_kwarg = "room"

    def get_queryset(self) -> QuerySet[LectureSeries]:  # type: ignore[override]  # series of a room view
        if getattr(self, "swagger_fake_view", False):
            return LectureSeries.objects.none()  # schema generation: no request to resolve
        room = self.get_room(change=True)
        return (
            LectureSeries.objects.filter(tenant=room.tenant, room=room)
            .select_related("tenant", "room")
            .order_by("first_date", "start_time", "pk")
        )

    @extend_schema(summary="List a room's lecture series (its hosts)", parameters=[TENANT_PARAMETER])
    def get(self, request: Request, room: str) -> Response:
        return self.list(request)

    @extend_schema(
        summary="Schedule a lecture series (the room's hosts)",
        request=SeriesInputSerializer,
        responses={201: SeriesSerializer, **ARCHIVED_RESPONSE},
        parameters=[TENANT_PARAMETER],
    )
    def post(self, request: ApiRequest, room: str) -> Response:
        context = api_context(request)
        target = self.get_room(change=True)
        _refuse_archived(target)
        incoming = SeriesInputSerializer(data=request.data, context={"tenant": context.tenant})
        incoming.is_valid(raise_exception=True)
        with service_errors():
            series = services.schedule_series(actor=request.user, room=target, **incoming.validated_data)
        return Response(self.get_serializer(series).data, status=status.HTTP_201_CREATED)


class SeriesDetailView(SeriesViewBase):
    required_scopes = {"GET": READ, "PATCH": WRITE, "DELETE": WRITE}

    @extend_schema(summary="Show a lecture series (its room's hosts)", parameters=[TENANT_PARAMETER])
    def get(self, request: Request, code: str) -> Response:
        return Response(self.get_serializer(self.get_series()).data)

    @extend_schema(
        summary="Change a lecture series (its room's hosts)",
        description=(
            "Fields left out keep their values; the result is checked as a whole rule. Cancellations and "
            "moves of lectures the new rule no longer has are dropped."
        ),
        request=SeriesInputSerializer,
        responses={200: SeriesSerializer, **ARCHIVED_RESPONSE},
        parameters=[TENANT_PARAMETER],
    )
    def patch(self, request: ApiRequest, code: str) -> Response:
        context = api_context(request)
        series = self.get_series(change=True)
        incoming = SeriesInputSerializer(
            data=request.data, partial=True, context={"tenant": context.tenant, "series": series}
        )
        incoming.is_valid(raise_exception=True)
        with service_errors():
            services.change_series(actor=request.user, series=series, **incoming.validated_data)
        return Response(self.get_serializer(self.get_series()).data)

    @extend_schema(
        summary="Delete a lecture series (its room's hosts)",
        responses={204: None, **ARCHIVED_RESPONSE},
        parameters=[TENANT_PARAMETER],
    )
    def delete(self, request: ApiRequest, code: str) -> Response:
        services.delete_series(actor=request.user, series=self.get_series(change=True))
        return Response(status=status.HTTP_204_NO_CONTENT)


def _moment(raw: str, name: str, tz: ZoneInfo, *, end_of_day: bool = False) -> datetime:
    """A query parameter as an aware datetime: ISO date-time (an offset, or else the series' time zone), or
    a date (its start; with `end_of_day` its end, so `to=2026-03-31` includes that day)."""
    wrong = exceptions.ValidationError(
        {
            name: [
                _(
                    "Give a date (2026-03-02) or a date and time with its offset "
                    "(2026-03-02T10:15:00+01:00), between the years %(first)d and %(last)d."
                )
                % {"first": YEARS[0], "last": YEARS[1]}
            ]
        }
    )
    try:
        moment = parse_datetime(raw)
        if moment is None:
            day = parse_date(raw)
            if day is None:
                raise wrong
            moment = datetime.combine(day + timedelta(days=1) if end_of_day else day, time.min)
    except ValueError:
        raise wrong from None
    if not YEARS[0] <= moment.year <= YEARS[1]:
        raise wrong
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=tz)
    return moment.astimezone(UTC)


RANGE_PARAMETERS = [
    OpenApiParameter(
        name="from",
        type=OpenApiTypes.DATETIME,
        required=False,
        description=(
            "Start of the range (lectures still running then count): an ISO 8601 date-time with offset, or "
            "a date (midnight in the series' time zone). Default: now."
        ),
    ),
    OpenApiParameter(
        name="to",
        type=OpenApiTypes.DATETIME,
        required=False,
        description=(
            "End of the range (exclusive; a date includes that day). Default: 180 days after `from`; at "
            "most 400 days after it."
        ),
    ),
]


class OccurrenceListView(SeriesViewBase):
    required_scopes = {"GET": READ}
    pagination_class = None  # bounded by the range instead
    serializer_class = OccurrenceSerializer

    @extend_schema(
        summary="Lectures of a series in a range (its room's hosts)",
        description=(
            "Computed from the rule with cancellations and moves applied, by start; cancelled lectures are "
            "listed with status `cancelled`, moved ones where they now take place. Times carry the series' "
            "UTC offset of that day."
        ),
        parameters=[*RANGE_PARAMETERS, TENANT_PARAMETER],
        responses={200: OccurrenceSerializer(many=True)},
    )
    def get(self, request: Request, code: str) -> Response:
        series = self.get_series(with_changes=True)
        tz = recurrence.zone(series.time_zone)
        raw_from, raw_to = request.query_params.get("from"), request.query_params.get("to")
        start = _moment(raw_from, "from", tz) if raw_from else timezone.now()
        end = _moment(raw_to, "to", tz, end_of_day=True) if raw_to else start + DEFAULT_RANGE
        if end <= start:
            raise exceptions.ValidationError({"to": [_("The end of the range must be after its start.")]})
        if end - start > MAX_RANGE:
            raise exceptions.ValidationError(
                {"to": [_("Ask for at most %(days)d days at a time.") % {"days": MAX_RANGE.days}]}
            )
        lectures = recurrence.occurrences(series, start=start, end=end, include_cancelled=True)
        return Response(OccurrenceSerializer(lectures, many=True).data)  # type: ignore[arg-type]  # many=True: a list


class OccurrenceActionBase(SeriesViewBase):
    required_scopes = {"POST": WRITE}
    serializer_class = OccurrenceSerializer

    def lecture(self, series: LectureSeries) -> datetime:
        """The original start named by the URL's key, or 404 when the rule has no lecture there."""
        key = self.kwargs["key"]
        original = recurrence.find_occurrence(series, key)
        if original is None:
            raise exceptions.NotFound(
                _("This series has no lecture at “%(key)s”.") % {"key": key}, code="no_such_lecture"
            )
        return original

    def answer(self, series: LectureSeries, original: datetime) -> Response:
        return Response(OccurrenceSerializer(recurrence.occurrence_at(series, original)).data)


class OccurrenceCancelView(OccurrenceActionBase):
    @extend_schema(
        summary="Cancel one lecture (its room's hosts)",
        description="A moved lecture is cancelled too. Restore undoes it.",
        request=CancelInputSerializer,
        responses={200: OccurrenceSerializer, **ARCHIVED_RESPONSE},
        parameters=[TENANT_PARAMETER],
    )
    def post(self, request: ApiRequest, code: str, key: str) -> Response:
        series = self.get_series(change=True)
        original = self.lecture(series)
        incoming = CancelInputSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        with service_errors():
            services.cancel_occurrence(
                actor=request.user,
                series=series,
                original_start=original,
                note=incoming.validated_data["note"],
            )
        return self.answer(series, original)


class OccurrenceMoveView(OccurrenceActionBase):
    @extend_schema(
        summary="Move one lecture (its room's hosts)",
        description="To another date and wall-clock time in the series' time zone. Restore undoes it.",
        request=MoveInputSerializer,
        responses={200: OccurrenceSerializer, **ARCHIVED_RESPONSE},
        parameters=[TENANT_PARAMETER],
    )
    def post(self, request: ApiRequest, code: str, key: str) -> Response:
        series = self.get_series(change=True)
        original = self.lecture(series)
        incoming = MoveInputSerializer(data=request.data, context={"series": series})
        incoming.is_valid(raise_exception=True)
        data: dict[str, Any] = incoming.validated_data
        with service_errors(rename={"new_start": "new_time"}):
            services.move_occurrence(
                actor=request.user,
                series=series,
                original_start=original,
                new_date=data["new_date"],
                new_time=data["new_time"],
                new_duration_minutes=data["new_duration_minutes"],
                note=data["note"],
            )
        return self.answer(series, original)


class OccurrenceRestoreView(OccurrenceActionBase):
    @extend_schema(
        summary="Restore one lecture as the rule has it (its room's hosts)",
        description="Undoes a cancellation or a move; a lecture without either stays as it is.",
        request=None,
        responses={200: OccurrenceSerializer, **ARCHIVED_RESPONSE},
        parameters=[TENANT_PARAMETER],
    )
    def post(self, request: ApiRequest, code: str, key: str) -> Response:
        series = self.get_series(change=True)
        original = self.lecture(series)
        services.restore_occurrence(actor=request.user, series=series, original_start=original)
        return self.answer(series, original)
