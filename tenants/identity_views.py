"""Pages shown when a sign-in is refused."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _


def acs_failure(
    request: HttpRequest, exception: Any = None, status: int = 403, **kwargs: Any
) -> HttpResponse:
    return render(
        request,
        "refused.html",
        {"title": _("Sign-in refused"), "message": _("Your sign-in could not be accepted.")},
        status=status,
    )
