"""The branding document that Jitsi's web client fetches (dynamicBrandingUrl / brandingDataUrl)."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from tenants.branding import CACHE_SECONDS, served_document


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
