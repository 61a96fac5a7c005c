from __future__ import annotations

import functools
from typing import Any

from django.http import HttpRequest

from tenants.access import membership_of
from tenants.branding import branding_for_pages
from tenants.models import Membership

# Where "Sign in" and the language switcher return to. A hostile query string of kilobytes is not echoed into
# every link of the page: past this length the path alone is used, and past it too, the home page.
RETURN_PATH_MAX = 1024


def tenant(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "tenant", None)

    @functools.cache
    def viewer_membership() -> Membership | None:
        """The viewer's membership, for the navigation: taken from the page guard when it ran, else one
        query, and only when a template asks (templates call callables)."""
        if current is None:
            return None
        found = getattr(request, "membership", None)
        return found if found is not None else membership_of(request.user, current)

    return {
        "tenant": current,
        "viewer_membership": viewer_membership,
        "branding": branding_for_pages(current) if current is not None else None,
        "return_path": return_path(request),
    }


def return_path(request: HttpRequest) -> str:
    for candidate in (request.get_full_path(), request.path):
        if len(candidate) <= RETURN_PATH_MAX:
            return candidate
    return "/"
