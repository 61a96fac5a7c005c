"""Pages of one tenant, mounted under /<tenant>/ (TenantMiddleware resolves the tenant)."""

from __future__ import annotations

from django.urls import include, path

from tenants import views

urlpatterns = [
    path("", views.tenant_home, name="tenant_home"),
    path("manage/", include("tenants.console_urls")),
    path("", include("meetings.urls")),
]
