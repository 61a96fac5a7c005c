"""djangosaml2's own URLs (/saml2/login/, /saml2/acs/, /saml2/metadata/, /saml2/logout/)."""

from __future__ import annotations

from django.urls import include, path

urlpatterns = [path("", include("djangosaml2.urls"))]
