"""djangosaml2's own URLs (/saml2/login/, /saml2/acs/, /saml2/metadata/, /saml2/logout/).

The ACS is our subclass (landing page after sign-in); it keeps djangosaml2's URL name `saml2_acs`."""

from __future__ import annotations

from django.urls import include, path

from tenants.identity_views import AcsView

urlpatterns = [
    path("acs/", AcsView.as_view(), name="saml2_acs"),
    path("", include("djangosaml2.urls")),
]
