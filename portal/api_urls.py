"""The REST API, mounted at /api/v1/ (CONTRACTS.md §5): schema, docs, me, tokens, rooms, lecture series,
branding."""

from __future__ import annotations

from typing import Any

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView

import portal.converters  # noqa: F401 - registers the path converters used below
from meetings.api import rooms, series, usage
from meetings.api.join import JoinRoomView
from meetings.recordings.api import views as recordings
from tenants.api import branding, errors
from tenants.api import views as tenant_api

urlpatterns: list[Any] = [
    # The busiest route first (patterns are tried in order): thousands of joins a minute at 10:15.
    path("rooms/<room:room>/join/", JoinRoomView.as_view(), name="api_room_join"),
    path("schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The split view loads Swagger UI's init script from a URL: no inline script under the CSP. The
    # documentation pages render HTML templates only: without metadata, OPTIONS is a 405 (DRF's metadata
    # answer would need a template and fail).
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="api_schema", template_name="api/swagger.html", metadata_class=None
        ),
        name="api_docs",
    ),
    path(
        "docs/redoc/",
        SpectacularRedocView.as_view(
            url_name="api_schema", template_name="api/redoc.html", metadata_class=None
        ),
        name="api_redoc",
    ),
    path("me/", tenant_api.MeView.as_view(), name="api_me"),
    path("tokens/", tenant_api.TokenListView.as_view(), name="api_tokens"),
    path("tokens/<tokenprefix:prefix>/", tenant_api.TokenDetailView.as_view(), name="api_token"),
    path("branding/", branding.BrandingView.as_view(), name="api_branding"),
    path("rooms/", rooms.RoomListView.as_view(), name="api_rooms"),
    path("rooms/<room:room>/", rooms.RoomDetailView.as_view(), name="api_room"),
    path("rooms/<room:room>/archive/", rooms.RoomArchiveView.as_view(), name="api_room_archive"),
    path("rooms/<room:room>/count/", usage.RoomCountView.as_view(), name="api_room_count"),
    path("statistics/", usage.UsageView.as_view(), name="api_statistics"),
    path("rooms/<room:room>/co-hosts/", rooms.CoHostListView.as_view(), name="api_room_co_hosts"),
    path(
        "rooms/<room:room>/co-hosts/<uuid:user>/", rooms.CoHostDetailView.as_view(), name="api_room_co_host"
    ),
    path("rooms/<room:room>/series/", series.RoomSeriesListView.as_view(), name="api_room_series"),
    path(
        "rooms/<room:room>/recordings/",
        recordings.RoomRecordingListView.as_view(),
        name="api_room_recordings",
    ),
    path("recordings/<recording:recording>/", recordings.RecordingDetailView.as_view(), name="api_recording"),
    path("series/<series:code>/", series.SeriesDetailView.as_view(), name="api_series"),
    path("series/<series:code>/occurrences/", series.OccurrenceListView.as_view(), name="api_occurrences"),
    path(
        "series/<series:code>/occurrences/<lecture:key>/cancel/",
        series.OccurrenceCancelView.as_view(),
        name="api_occurrence_cancel",
    ),
    path(
        "series/<series:code>/occurrences/<lecture:key>/move/",
        series.OccurrenceMoveView.as_view(),
        name="api_occurrence_move",
    ),
    path(
        "series/<series:code>/occurrences/<lecture:key>/restore/",
        series.OccurrenceRestoreView.as_view(),
        name="api_occurrence_restore",
    ),
]

# Anything else under /api/v1/ answers the JSON 404, not the HTML page.
urlpatterns.append(re_path(r"^(?P<rest>[\s\S]*)\Z", errors.unknown_endpoint, name="api_unknown"))
