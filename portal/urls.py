"""Top-level URLs. Tenant pages live under /<tenant>/ (a tenant's own host name maps onto that prefix)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.landing, name="landing"),
    path("healthz", tenant_views.healthz, name="healthz"),
    path("admin/", admin.site.urls),
    path("saml2/", include("tenants.saml_urls")),
    path("accounts/logout/", tenant_views.logout_view, name="logout"),
    path("", include("meetings.public_urls")),
    path("api/v1/", include("meetings.api.urls")),
    path("<slug:tenant>/", include("tenants.urls")),
]
