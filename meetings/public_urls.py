"""Portal-wide meeting URLs: anonymous meetings. (Jitsi's callbacks are in portal/machine_urls.py.)"""

from __future__ import annotations

from typing import Any

from django.urls import path

import portal.converters  # noqa: F401 - registers the path converters used below
from meetings import anonymous_views, join_views
from portal import bench_views

urlpatterns: list[Any] = [
    path("new/", anonymous_views.new_meeting, name="anonymous_new"),
    path("new/<room:room>/", anonymous_views.anonymous_join, name="anonymous_join"),
    path("bench/bare", join_views.bench_bare, name="bench_bare"),
    path("bench/select", bench_views.bench_select, name="bench_select"),
]
