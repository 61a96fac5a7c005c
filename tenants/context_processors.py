from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from tenants.branding import branding_for_pages


def tenant(request: HttpRequest) -> dict[str, Any]:
    current = getattr(request, "tenant", None)
    return {"tenant": current, "branding": branding_for_pages(current) if current is not None else None}
