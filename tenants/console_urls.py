"""The admin console of one tenant, under /<tenant>/manage/."""

from __future__ import annotations

from django.urls import path

from meetings import calendar_views
from tenants import console_views as views

app_name = "console"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("branding/", views.branding, name="branding"),
    path("branding/preview/", views.branding_preview, name="branding_preview"),
    path("members/", views.members, name="members"),
    path("members/<uuid:public_id>/role/", views.member_role, name="member_role"),
    path("members/<uuid:public_id>/block/", views.member_block, name="member_block"),
    path("rooms/", views.rooms, name="rooms"),
    path("statistics/", views.statistics, name="statistics"),
    path("audit/", views.audit_log, name="audit"),
    path("deployment/", views.deployment, name="deployment"),
    path("calendar/", calendar_views.academic_calendar, name="academic_calendar"),
]
