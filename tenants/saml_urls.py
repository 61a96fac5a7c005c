"""djangosaml2's own URLs (/saml2/login/, /saml2/acs/, /saml2/metadata/, /saml2/logout/).

Login, ACS and logout are subclasses (our refusal pages, landing page after sign-in, local sign-out) under
djangosaml2's URL names."""

from __future__ import annotations

from django.urls import include, path

from tenants.identity_views import AcsView, SignInView, SignOutView

urlpatterns = [
    path("login/", SignInView.as_view(), name="saml2_login"),
    path("acs/", AcsView.as_view(), name="saml2_acs"),
    path("logout/", SignOutView.as_view(), name="saml2_logout"),
    path("", include("djangosaml2.urls")),
]
