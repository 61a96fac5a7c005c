"""Room serializers. Writable fields are listed explicitly: tenant, owner, archived, co-hosts and the
access-code hash can never be set through them (unknown keys in a payload are ignored)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from meetings import services
from meetings.models import Room, room_name_validator
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


class RoomUpdateSerializer(serializers.ModelSerializer[Room]):
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


class CoHostInputSerializer(serializers.Serializer[Any]):
    user = serializers.UUIDField(help_text="The person's id (as in /api/v1/me/).")
