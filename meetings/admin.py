"""Operators look at rooms and series here (the admin is for operators only: portal/admin.py).

Changes go through services, with an audit row: archiving rooms (an action), deleting a lecture series.
Nothing is edited in place; secrets (access code hashes, feed tokens) are never shown."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from meetings import services
from meetings.models import LectureSeries, OccurrenceChange, PersonalFeed, Room


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class LectureSeriesInline(admin.TabularInline):
    model = LectureSeries
    extra = 0
    fields = (
        "title",
        "code",
        "first_date",
        "start_time",
        "duration_minutes",
        "interval_weeks",
        "until",
        "count",
    )
    readonly_fields = fields
    can_delete = False
    show_change_link = True

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Room)
class RoomAdmin(ReadOnlyAdmin):
    list_display = ["title", "name", "tenant", "owner", "access", "archived", "is_anonymous", "created_at"]
    list_filter = ["tenant", "access", "archived", "is_anonymous"]
    search_fields = ["title", "name", "owner__username", "owner__email"]
    list_select_related = ["tenant", "owner"]
    exclude = ["access_code_hash"]
    inlines = [LectureSeriesInline]
    actions = ["archive"]

    @admin.action(description=_("Archive the selected rooms"), permissions=["archive"])
    def archive(self, request: HttpRequest, queryset: QuerySet[Room]) -> None:
        for room in queryset.filter(archived=False).select_related("tenant"):
            services.archive_room(actor=request.user, room=room)  # type: ignore[arg-type]  # operators only
        self.message_user(request, _("Rooms archived."), messages.SUCCESS)

    def has_archive_permission(self, request: HttpRequest) -> bool:
        return request.user.is_superuser


@admin.register(LectureSeries)
class LectureSeriesAdmin(ReadOnlyAdmin):
    list_display = ["title", "room", "tenant", "first_date", "start_time", "time_zone", "count", "until"]
    list_filter = ["tenant"]
    search_fields = ["title", "code", "room__name"]
    list_select_related = ["tenant", "room"]
    exclude = ["feed_token"]

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.is_superuser

    def get_deleted_objects(self, objs: Any, request: HttpRequest) -> Any:
        # The series' cancelled and moved lectures go with it (their own page is read-only).
        deleted, counts, _perms_needed, protected = super().get_deleted_objects(objs, request)
        return deleted, counts, set(), protected

    def delete_model(self, request: HttpRequest, obj: LectureSeries) -> None:
        services.delete_series(actor=request.user, series=obj)  # type: ignore[arg-type]  # operators only

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[LectureSeries]) -> None:
        for series in queryset.select_related("tenant", "room"):
            services.delete_series(actor=request.user, series=series)  # type: ignore[arg-type]  # operators only


@admin.register(OccurrenceChange)
class OccurrenceChangeAdmin(ReadOnlyAdmin):
    list_display = ["series", "original_start", "kind", "new_start", "tenant"]
    list_filter = ["tenant", "kind"]
    list_select_related = ["series", "tenant"]


@admin.register(PersonalFeed)
class PersonalFeedAdmin(ReadOnlyAdmin):
    list_display = ["user", "tenant", "created_at"]
    list_select_related = ["user", "tenant"]
    exclude = ["token"]
