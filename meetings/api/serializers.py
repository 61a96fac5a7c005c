"""Room and lecture-series serializers. Writable fields are listed explicitly: tenant, owner, archived,
co-hosts, the access-code hash, a series' room, code, feed token and revision can never be set through them
(unknown keys in a payload are ignored). Input serializers take portal.validators.TextRulesSerializer
first: text refuses control characters, and line breaks unless it is a multi-line field (descriptions)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from meetings import recurrence, services
from meetings.forms import CancelForm, MoveForm, SeriesForm
from meetings.models import (
    MAX_OCCURRENCES,
    NOTE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    LectureSeries,
    Room,
    room_name_validator,
)
from meetings.recurrence import Occurrence
from portal.validators import TextRulesSerializer
from tenants.api.errors import form_errors
from tenants.models import User


class PersonSerializer(serializers.ModelSerializer[User]):
    id = serializers.UUIDField(source="public_id", read_only=True)
    display_name = serializers.CharField(source="get_display_name", read_only=True)

    class Meta:
        model = User
        fields = ["id", "display_name"]
        read_only_fields = fields


class RoomSerializer(serializers.ModelSerializer[Room]):
    """A room as the API shows it."""

    owner = PersonSerializer(read_only=True, allow_null=True)
    co_hosts = PersonSerializer(many=True, read_only=True)
    has_access_code = serializers.SerializerMethodField()
    is_host = serializers.SerializerMethodField(help_text="Whether the caller may change this room.")
    url = serializers.SerializerMethodField(help_text="The room's join page.")

    class Meta:
        model = Room
        fields = [
            "name",
            "title",
            "description",
            "access",
            "lobby",
            "allow_recording",
            "allow_livestreaming",
            "allow_participant_screen_sharing",
            "has_access_code",
            "archived",
            "owner",
            "co_hosts",
            "is_host",
            "url",
            "created_at",
            "last_used_at",
        ]
        read_only_fields = fields

    def get_has_access_code(self, room: Room) -> bool:
        return bool(room.access_code_hash)

    def get_is_host(self, room: Room) -> bool:
        user_id = self.context["request"].user.pk
        # co_hosts is prefetched: no query per row.
        return room.owner_id == user_id or any(person.pk == user_id for person in room.co_hosts.all())

    @extend_schema_field(serializers.URLField)
    def get_url(self, room: Room) -> str:
        # The join page (/<tenant>/r/<room>/, CONTRACTS.md §5), built by hand: the rooms branch owns it.
        return f"{settings.PUBLIC_URL}/{room.tenant.slug}/r/{room.name}/"


class RoomUpdateSerializer(TextRulesSerializer, serializers.ModelSerializer[Room]):
    """What a host may change. The Jitsi room name is fixed once created (links depend on it)."""

    class Meta:
        model = Room
        fields = list(services.ROOM_FIELDS)
        extra_kwargs = {"title": {"required": True, "allow_blank": False}}


class RoomCreateSerializer(RoomUpdateSerializer):
    name = serializers.CharField(
        required=False,
        max_length=100,
        validators=[room_name_validator],
        help_text="Jitsi room name; leave it out for an unguessable one.",
    )

    class Meta(RoomUpdateSerializer.Meta):
        fields = ["name", *services.ROOM_FIELDS]

    def validate_name(self, name: str) -> str:
        # The pages' rules and messages (lowercase, at least 3 characters, reserved, taken).
        return services.check_public_name(self.context["tenant"], name)


class CoHostInputSerializer(TextRulesSerializer, serializers.Serializer[Any]):
    user = serializers.UUIDField(help_text="The person's id (as in /api/v1/me/).")


# Lecture series ---------------------------------------------------------------------------------


@extend_schema_field(
    {
        "type": "string",
        "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
        "example": "10:15",
        "description": "Wall-clock time (HH:MM or HH:MM:SS), without offset: the series' time zone applies.",
    }
)
class WallClockTimeField(serializers.TimeField):
    """A time of day without offset. OpenAPI's `time` format demands an offset, which these do not have."""


# What a new series gets for a field left out (the page form's initial values).
SERIES_DEFAULTS: dict[str, Any] = {
    "title": "",
    "duration_minutes": 90,
    "interval_weeks": 1,
    "weekdays": [],
    "until": None,
    "count": None,
    "join_opens_minutes": 15,
    "grace_minutes": 15,
}


class SeriesSerializer(serializers.ModelSerializer[LectureSeries]):
    """A lecture series as the API shows it (to the hosts of its room)."""

    room = serializers.CharField(source="room.name", read_only=True, help_text="The room's Jitsi name.")
    start_time = WallClockTimeField(read_only=True)
    weekdays = serializers.ListField(
        child=serializers.IntegerField(), read_only=True, help_text="0 = Monday … 6 = Sunday."
    )
    feed_url = serializers.SerializerMethodField(
        help_text="The subscribable calendar of this series (secret: share it with care)."
    )

    class Meta:
        model = LectureSeries
        fields = [
            "code",
            "room",
            "title",
            "first_date",
            "start_time",
            "duration_minutes",
            "interval_weeks",
            "weekdays",
            "until",
            "count",
            "time_zone",
            "join_opens_minutes",
            "grace_minutes",
            "revision",
            "feed_url",
            "created_at",
        ]
        read_only_fields = fields

    @extend_schema_field(serializers.URLField)
    def get_feed_url(self, series: LectureSeries) -> str:
        path = reverse("meetings:feed", kwargs={"tenant": series.tenant.slug, "token": series.feed_token})
        return f"{settings.PUBLIC_URL}{path}"


class SeriesInputSerializer(TextRulesSerializer, serializers.Serializer[Any]):
    """A series' rule. Types are checked here; the rules (ranges, an end, weekdays, time zone) by the page's
    form, so the API answers with the pages' messages. A PATCH is checked as the whole rule it results in."""

    title = serializers.CharField(
        max_length=TITLE_MAX_LENGTH,
        required=False,
        allow_blank=True,
        help_text="Empty or left out: the room's title.",
    )
    first_date = serializers.DateField(help_text="The first lecture's date.")
    start_time = WallClockTimeField(help_text="Wall-clock start in `time_zone` (stays put across DST).")
    duration_minutes = serializers.IntegerField(required=False, help_text="5 to 600; default 90.")
    interval_weeks = serializers.IntegerField(
        required=False, help_text="1 = every week, 2 = every other week (up to 52); default 1."
    )
    weekdays = serializers.ListField(
        child=serializers.IntegerField(),
        required=False,
        max_length=7,
        help_text="0 = Monday … 6 = Sunday; empty: the weekday of the first lecture.",
    )
    until = serializers.DateField(
        required=False,
        allow_null=True,
        help_text="Last possible date, or give `count` (not both: a PATCH sets the other one to null).",
    )
    count = serializers.IntegerField(
        required=False, allow_null=True, help_text=f"Number of lectures, 1 to {MAX_OCCURRENCES}."
    )
    time_zone = serializers.CharField(
        required=False, max_length=64, help_text="IANA time zone; default the institution's."
    )
    join_opens_minutes = serializers.IntegerField(
        required=False, help_text="The room opens this many minutes before the start (0 to 240); default 15."
    )
    grace_minutes = serializers.IntegerField(
        required=False,
        help_text="The room stays open this many minutes after the end (0 to 240); default 15.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        tenant = self.context["tenant"]
        series: LectureSeries | None = self.context.get("series")
        if series is None:
            base = {**SERIES_DEFAULTS, "time_zone": tenant.time_zone}
        else:
            base = {f: getattr(series, f) for f in services.SERIES_FIELDS}
            base["hold_on_holidays"] = not series.skip_holidays
        form = SeriesForm(data={**base, **attrs}, tenant=tenant)
        if not form.is_valid():
            raise form_errors(form)
        return form.series_fields()


class OccurrenceSerializer(serializers.Serializer[Occurrence]):
    """One lecture, computed from the rule with cancellations and moves applied; times in the series'
    time zone, with their offset."""

    key = serializers.CharField(
        read_only=True,
        help_text="The lecture's identity: its original start in UTC (as in the pages' lecture URLs).",
    )
    original_start = serializers.SerializerMethodField(help_text="Where the rule puts it.")
    start = serializers.SerializerMethodField()
    end = serializers.SerializerMethodField()
    status = serializers.SerializerMethodField()
    note = serializers.CharField(
        read_only=True, help_text="A note for participants (on cancelled and moved lectures)."
    )

    def _local(self, occurrence: Occurrence, moment: datetime) -> str:
        return moment.astimezone(recurrence.zone(occurrence.series.time_zone)).isoformat()

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_original_start(self, occurrence: Occurrence) -> str:
        return self._local(occurrence, occurrence.original_start)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_start(self, occurrence: Occurrence) -> str:
        return self._local(occurrence, occurrence.start)

    @extend_schema_field(OpenApiTypes.DATETIME)
    def get_end(self, occurrence: Occurrence) -> str:
        return self._local(occurrence, occurrence.end)

    @extend_schema_field(serializers.ChoiceField(choices=["scheduled", "cancelled", "moved"]))
    def get_status(self, occurrence: Occurrence) -> str:
        return "cancelled" if occurrence.cancelled else "moved" if occurrence.moved else "scheduled"


class CancelInputSerializer(TextRulesSerializer, serializers.Serializer[Any]):
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, help_text="For participants."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        form = CancelForm(data={"note": "", **attrs})
        if not form.is_valid():
            raise form_errors(form)
        return dict(form.cleaned_data)


class MoveInputSerializer(TextRulesSerializer, serializers.Serializer[Any]):
    new_date = serializers.DateField()
    new_time = WallClockTimeField(help_text="Wall-clock time in the series' time zone.")
    new_duration_minutes = serializers.IntegerField(
        required=False, allow_null=True, help_text="5 to 600; left out: the series' duration."
    )
    note = serializers.CharField(
        required=False, allow_blank=True, max_length=NOTE_MAX_LENGTH, help_text="For participants."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        form = MoveForm(
            data={"new_duration_minutes": None, "note": "", **attrs},
            time_zone=self.context["series"].time_zone,
        )
        if not form.is_valid():
            raise form_errors(form)
        return dict(form.cleaned_data)
