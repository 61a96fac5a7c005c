"""The development IdP under /dev-idp/ (every view answers 404 unless settings.PORTAL_DEV_IDP)."""

from __future__ import annotations

from django.urls import path

from tenants.dev_idp import views

app_name = "dev_idp"
urlpatterns = [
    path("metadata/", views.metadata, name="metadata"),
    path("sso/", views.sso, name="sso"),
    path("slo/", views.slo, name="slo"),
]
