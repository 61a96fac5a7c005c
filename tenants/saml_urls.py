"""djangosaml2's own URLs (/saml2/login/, /saml2/acs/, /saml2/metadata/, /saml2/logout/).

Login, ACS and logout are subclasses (our refusal and 503 pages, landing page after sign-in) and the SP
metadata is our own view, under djangosaml2's URL names."""

from __future__ import annotations

from django.urls import include, path

from tenants.identity_views import AcsView, LogoutServiceView, SignInView, SignOutView, sp_metadata

urlpatterns = [
    path("login/", SignInView.as_view(), name="saml2_login"),
    path("acs/", AcsView.as_view(), name="saml2_acs"),
    path("logout/", SignOutView.as_view(), name="saml2_logout"),
    path("ls/", LogoutServiceView.as_view(), name="saml2_ls"),
    path("ls/post/", LogoutServiceView.as_view(), name="saml2_ls_post"),
    # Built without IdP metadata, so it is served even while the federation's metadata is expired.
    path("metadata/", sp_metadata, name="saml2_metadata"),
    path("", include("djangosaml2.urls")),
]
