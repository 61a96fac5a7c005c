"""Room and lecture pages of a tenant (mounted under /<tenant>/)."""

from __future__ import annotations

from typing import Any

from django.urls import path

from meetings import join_views

app_name = "meetings"
urlpatterns: list[Any] = [
    path("r/<slug:room>/", join_views.join, name="join"),
]
