"""Pages of one tenant, mounted under /<tenant>/ (TenantMiddleware resolves the tenant)."""

from __future__ import annotations

from django.urls import include, path

import portal.converters  # noqa: F401 - registers the path converters used below
from tenants import branding_views, views
from tenants.api import pages as token_pages

urlpatterns = [
    path("", views.tenant_home, name="tenant_home"),
    path("branding.css", branding_views.branding_css, name="branding_css"),
    path("manage/", include("tenants.console_urls")),
    path("", include("meetings.urls")),
    path("", include("meetings.recordings.urls")),
    path("", include("meetings.streams.urls")),
    path("settings/tokens/", token_pages.tokens_page, name="api_token_settings"),
    path(
        "settings/tokens/<tokenprefix:prefix>/revoke/", token_pages.revoke_token_page, name="api_token_revoke"
    ),
]
