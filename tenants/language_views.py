"""The header's language switcher: the choice goes in a cookie and, for a signed-in person, on the profile."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import translation
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tenants import services


def _safe_next(request: HttpRequest) -> str:
    """Back to the page the switcher was on, never to another site."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return "/"


@require_POST
def switch_language(request: HttpRequest) -> HttpResponse:
    language = request.POST.get("language", "")
    if language not in {code for code, _name in settings.LANGUAGES}:
        return render(
            request,
            "refused.html",
            {
                "title": _("Unknown language"),
                "message": _("Choose one of the languages offered in the page header."),
            },
            status=400,
        )
    if request.user.is_authenticated:
        services.set_preferred_language(actor=request.user, user=request.user, language=language)
    translation.activate(language)  # the redirect's few words already in the new language
    response = HttpResponseRedirect(_safe_next(request))
    response.set_cookie(
        settings.LANGUAGE_COOKIE_NAME,
        language,
        max_age=settings.LANGUAGE_COOKIE_AGE,
        path=settings.LANGUAGE_COOKIE_PATH,
        domain=settings.LANGUAGE_COOKIE_DOMAIN,
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
        samesite="Lax",  # followed from links on other sites, never sent with their cross-site POSTs
    )
    return response
