"""Top-level URLs. Tenant pages live under /<tenant>/ (a tenant's own host name maps onto that prefix)."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.decorators.cache import cache_control
from django.views.i18n import JavaScriptCatalog

import portal.converters  # noqa: F401 - registers the path converters (<tenant:...>, <room:...>, ...)
from tenants import language_views
from tenants import views as tenant_views

urlpatterns = [
    path("", tenant_views.landing, name="landing"),
    path("healthz", tenant_views.healthz, name="healthz"),
    path("readyz", tenant_views.readyz, name="readyz"),
    path("api/v1/", include("portal.api_urls")),  # early: the join API is the busiest route
    path("admin/", admin.site.urls),
    path("saml2/", include("tenants.saml_urls")),
    path("dev-idp/", include("tenants.dev_idp.urls")),  # answers 404 unless settings.PORTAL_DEV_IDP
    path("accounts/logout/", tenant_views.logout_view, name="logout"),
    path("accounts/language/", language_views.switch_language, name="switch_language"),  # any host
    # The strings of static/js/ in the page's language (the page asks with ?lang=, so a browser's copy never
    # answers for another language).
    path("jsi18n/", cache_control(max_age=3600, private=True)(JavaScriptCatalog.as_view()), name="jsi18n"),
    path("", include("portal.machine_urls")),  # Prosody's routes, the only ones under /jitsi/
    path("", include("meetings.public_urls")),
    path("", include("meetings.streams.machine_urls")),  # the media server's callbacks and HLS check
    path("<tenant:tenant>/", include("tenants.urls")),
]
if settings.SERVE_MEDIA:
    # Uploaded logos and backgrounds; behind a reverse proxy set SERVE_MEDIA=0 and let it serve MEDIA_ROOT.
    urlpatterns.insert(0, re_path(r"^media/(?P<path>.+)$", tenant_views.media, name="media"))

# Unexpected failures: the portal's own page (JSON in the API's shape under /api/ and /jitsi/), rendered
# without the request's context so that it answers even with the database down (portal/errors.py).
handler500 = "portal.errors.server_error"
