"""Branding served to browsers: the document Jitsi's web client fetches (dynamicBrandingUrl /
brandingDataUrl) and the stylesheet of the tenant's portal pages."""

from __future__ import annotations

import hashlib

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from tenants.branding import CACHE_SECONDS, branding_for_pages, branding_stylesheet, served_document
from tenants.requests import TenantRequest


@require_GET
def jitsi_branding(request: HttpRequest, deployment: str) -> HttpResponse:
    # conferenceFqn (?conferenceFqn=<tenant>/<room>) is accepted and ignored: the document is per deployment.
    served = served_document(deployment)
    if served is None:
        raise Http404("no such deployment")
    if served.etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(served.body, content_type="application/json")
    response["ETag"] = served.etag
    response["Cache-Control"] = f"public, max-age={CACHE_SECONDS}"
    # Fetched by the browser from the Jitsi page: only that deployment's origin may read it.
    response["Access-Control-Allow-Origin"] = served.origin
    patch_vary_headers(response, ["Origin"])
    return response


@require_GET
def branding_css(request: TenantRequest) -> HttpResponse:
    """/<tenant>/branding.css: the tenant's colours from the cached page branding. Pages link it with
    ?v=<branding version>, so a change is a new URL and the answer may be cached for a day."""
    body = branding_stylesheet(branding_for_pages(request.tenant)).encode()
    etag = f'"{hashlib.sha256(body).hexdigest()[:32]}"'
    if etag in {tag.strip() for tag in request.headers.get("If-None-Match", "").split(",")}:
        response: HttpResponse = HttpResponseNotModified()
    else:
        response = HttpResponse(body, content_type="text/css; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=86400"
    return response
