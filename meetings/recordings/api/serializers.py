from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from meetings.recordings import access, playback
from meetings.recordings.models import Recording


class RecordingSerializer(serializers.ModelSerializer[Recording]):
    room = serializers.CharField(source="room.name", read_only=True)
    series = serializers.CharField(source="series.code", read_only=True, allow_null=True, default=None)
    playback_url = serializers.SerializerMethodField(
        help_text="Short-lived link to the video (null until ready)."
    )
    poster_url = serializers.SerializerMethodField()
    download_url = serializers.SerializerMethodField(help_text="Hosts only: a short-lived download link.")

    class Meta:
        model = Recording
        fields = [
            "code",
            "title",
            "room",
            "series",
            "lecture_start",
            "visibility",
            "status",
            "duration_seconds",
            "size_bytes",
            "started_at",
            "ended_at",
            "keep_until",
            "created_at",
            "playback_url",
            "poster_url",
            "download_url",
        ]
        read_only_fields = fields

    def _absolute(self, url: str) -> str | None:
        if not url:
            return None
        request = self.context.get("request")
        return request.build_absolute_uri(url) if request is not None and url.startswith("/") else url

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_playback_url(self, obj: Recording) -> str | None:
        return self._absolute(playback.url(obj, "video")) if obj.file else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_poster_url(self, obj: Recording) -> str | None:
        return self._absolute(playback.url(obj, "poster")) if obj.poster else None

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_download_url(self, obj: Recording) -> str | None:
        request = self.context.get("request")
        if not obj.file or request is None or not access.may_manage(request.user, obj):
            return None
        return self._absolute(playback.url(obj, "video", download=True))


class RecordingChangeSerializer(serializers.Serializer[Any]):
    title = serializers.CharField(max_length=200, required=False)
    visibility = serializers.ChoiceField(choices=Recording.Visibility.choices, required=False)
    keep_until = serializers.DateField(required=False, allow_null=True)
