from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenants.branding import branding_for_pages

# Where "Sign in" and the language switcher return to. A hostile query string of kilobytes is not echoed into
# every link of the page: past this length the path alone is used, and past it too, the home page.
RETURN_PATH_MAX = 1024


def tenant(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "tenant", None)
    return {
        "tenant": current,
        "branding": branding_for_pages(current) if current is not None else None,
        "return_path": return_path(request),
    }


def return_path(request: HttpRequest) -> str:
    for candidate in (request.get_full_path(), request.path):
        if len(candidate) <= RETURN_PATH_MAX:
            return candidate
    return "/"
