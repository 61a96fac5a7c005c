"""djangosaml2's own URLs (/saml2/login/, /saml2/acs/, /saml2/metadata/, /saml2/logout/).

Login and ACS are subclasses (our refusal pages, landing page after sign-in) under djangosaml2's URL names."""

from __future__ import annotations

from django.urls import include, path

from tenants.identity_views import AcsView, SignInView

urlpatterns = [
    path("login/", SignInView.as_view(), name="saml2_login"),
    path("acs/", AcsView.as_view(), name="saml2_acs"),
    path("", include("djangosaml2.urls")),
]
