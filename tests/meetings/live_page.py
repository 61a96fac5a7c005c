"""A page that includes the live-count partial, served only in the browser test (its own settings module).

Room pages belong to other work; this keeps the partial and its script testable on their own."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.template import engines
from django.urls import path

from meetings.models import Room
from portal.urls import urlpatterns as portal_urlpatterns

PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>live</title></head><body>
<h1>{{ room.title }}</h1>
{% include "meetings/_live_count.html" with room=room %}
</body></html>"""


def live_page(request: HttpRequest, tenant_slug: str, room: str) -> HttpResponse:
    obj = get_object_or_404(Room, tenant__slug=tenant_slug, name=room)
    return HttpResponse(engines["django"].from_string(PAGE).render({"room": obj}, request))


urlpatterns = [path("live-page/<slug:tenant_slug>/<str:room>/", live_page), *portal_urlpatterns]
