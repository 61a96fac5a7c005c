"""Room and lecture pages of a tenant (mounted under /<tenant>/)."""

from __future__ import annotations

from django.urls import path

import portal.converters  # noqa: F401 - registers the path converters used below
from meetings import join_views, views

app_name = "meetings"

_series = "rooms/<room:name>/series/<series:code>/"
_lecture = _series + "lectures/<lecture:key>/"

urlpatterns = [
    path("rooms/", views.room_list, name="room_list"),
    path("rooms/new/", views.room_create, name="room_create"),
    path("rooms/<room:name>/", views.room_detail, name="room_detail"),
    path("rooms/<room:name>/edit/", views.room_edit, name="room_edit"),
    path("rooms/<room:name>/share/", views.room_share, name="room_share"),
    path("rooms/<room:name>/people/", views.room_people, name="room_people"),
    path("rooms/<room:name>/archive/", views.room_archive, name="room_archive"),
    path("rooms/<room:name>/transfer/", views.room_transfer, name="room_transfer"),
    path("rooms/<room:name>/series/new/", views.series_create, name="series_create"),
    path(_series, views.series_detail, name="series_detail"),
    path(_series + "edit/", views.series_edit, name="series_edit"),
    path(_series + "delete/", views.series_delete, name="series_delete"),
    path(_series + "rotate-feed/", views.series_rotate_feed, name="series_rotate_feed"),
    path(_lecture + "cancel/", views.lecture_cancel, name="lecture_cancel"),
    path(_lecture + "move/", views.lecture_move, name="lecture_move"),
    path(_lecture + "restore/", views.lecture_restore, name="lecture_restore"),
    path("lectures/", views.my_lectures, name="my_lectures"),
    path("lectures/feed/rotate/", views.personal_feed_rotate, name="personal_feed_rotate"),
    path("lectures/<series:code>.ics", views.series_ics, name="series_ics"),
    path("lectures/<series:code>/follow/", views.series_follow, name="series_follow"),
    path("series-preview/", views.series_preview, name="series_preview"),
    path("feeds/<feedtoken:token>.ics", views.feed, name="feed"),
    path("r/<room:room>/", join_views.join, name="join"),
]
