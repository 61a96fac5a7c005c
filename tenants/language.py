"""Which language a person sees, decided once per request before anything is rendered.

Pages, in this order:
1. the saved choice: for a signed-in person the one on their profile (`User.interface_language`, set with the
   header's switcher), else this browser's language cookie (the switcher sets it for guests too). The
   profile wins over the cookie, so a shared browser's cookie left by someone else does not decide;
2. edu-ID's `preferredLanguage` as released at the last sign-in (`User.preferred_language`);
3. the browser's `Accept-Language`, best first (`de-CH` -> `de`);
4. the tenant's default language (`Branding.default_language`), else `settings.LANGUAGE_CODE`.

The API (`/api/`) follows `Accept-Language` alone, else English: its clients are programs as often as pages,
and an answer should not depend on a cookie set by the switcher. Prosody's `/jitsi/` calls get English.

This replaces Django's LocaleMiddleware and comes after TenantMiddleware: `__call__` knows the tenant of a
host name, `process_view` the tenant of a `/<tenant>/` path (TenantMiddleware's `process_view` runs first).
The lean `/jitsi/` handler (portal/handlers.py) runs no middleware and activates English itself.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers

# Programs' paths: the API, and Prosody's calls when they do run through the middleware (tests, Daphne).
MACHINE_PREFIXES = ("/api/", "/jitsi/")
# Sources, in the order they are tried; kept on the request (`request.language_source`) for tests and logs.
PROFILE, COOKIE, IDENTITY = "profile", "cookie", "identity"
BROWSER, TENANT, SITE = "browser", "tenant", "site"
PAGE = "page"
# Requests every page makes besides itself: the JavaScript catalogue names its language in `?lang=` (the
# page's own), and the tenant's stylesheet has none. Neither needs the person: deciding from the profile would
# load the signed-in user twice more per page view.
JS_CATALOGUE_PATH = "/jsi18n/"
LANGUAGE_FREE_SUFFIXES = ("/branding.css",)
CACHE_SECONDS = 300  # as the branding's own cache: cleared on change, this only bounds a missed clear
_MAX_HEADER = 500  # an Accept-Language longer than any browser sends is read no further


def supported(code: str | None) -> str | None:
    """The portal's language for a code such as `de-CH`, `fr` or `it_IT`; None when it speaks none of it."""
    code = (code or "").strip().lower().replace("_", "-")[:32]
    if not code:
        return None
    try:
        return translation.get_supported_language_variant(code)
    except LookupError:
        return None


def browser_languages(header: str) -> list[str]:
    """The codes of an Accept-Language header, best first (ties keep their order); `*` and q=0 are dropped."""
    ranked: list[tuple[float, int, str]] = []
    for index, part in enumerate(header[:_MAX_HEADER].split(",")):
        code, _sep, params = part.strip().partition(";")
        quality = 1.0
        params = params.strip()
        if params.startswith("q="):
            try:
                quality = float(params[2:])
            except ValueError:
                continue
        if code and code != "*" and 0 < quality <= 1:
            ranked.append((-quality, index, code))
    return [code for _quality, _index, code in sorted(ranked)]


def from_browser(request: HttpRequest) -> str | None:
    for code in browser_languages(request.headers.get("Accept-Language", "")):
        language = supported(code)
        if language:
            return language
    return None


def tenant_default(tenant: Any) -> str | None:
    """The tenant's default language, cached like its branding (branding.forget_document clears it)."""
    if tenant is None:
        return None
    key = f"branding-language:{tenant.pk}"
    code = cache.get(key)
    if code is None:
        from tenants.models import Branding  # models import settings; this module is loaded with them

        code = Branding.objects.filter(tenant=tenant).values_list("default_language", flat=True).first() or ""
        cache.set(key, code, CACHE_SECONDS)
    return supported(code)


def choose(request: HttpRequest, *, tenant: Any = None) -> tuple[str, str]:
    """(language, source) for this request, by the rules above."""
    if request.path_info.startswith(MACHINE_PREFIXES):
        language = from_browser(request)
        return (language, BROWSER) if language else (settings.LANGUAGE_CODE, SITE)
    if request.path_info == JS_CATALOGUE_PATH:
        language = supported(request.GET.get("lang"))
        if language:
            return language, PAGE
    if request.path_info.endswith(LANGUAGE_FREE_SUFFIXES):
        return settings.LANGUAGE_CODE, SITE
    user = getattr(request, "user", None)
    signed_in = user is not None and user.is_authenticated
    candidates: list[tuple[str | None, str]] = []
    if signed_in:
        candidates.append((getattr(user, "interface_language", ""), PROFILE))
    candidates.append((request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME), COOKIE))
    if signed_in:
        candidates.append((getattr(user, "preferred_language", ""), IDENTITY))
    for code, source in candidates:
        language = supported(code)
        if language:
            return language, source
    language = from_browser(request)
    if language:
        return language, BROWSER
    language = tenant_default(tenant)
    if language:
        return language, TENANT
    return settings.LANGUAGE_CODE, SITE


def _activate(request: HttpRequest, language: str, source: str) -> None:
    translation.activate(language)
    request.LANGUAGE_CODE = language
    request.language_source = source  # type: ignore[attr-defined]  # the portal's attribute on Django's request


class LanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        _activate(request, *choose(request, tenant=getattr(request, "host_tenant", None)))
        response = self.get_response(request)
        # The same URL answers in other languages for other browsers, cookies and sessions.
        patch_vary_headers(response, ("Accept-Language", "Cookie"))
        response.headers.setdefault("Content-Language", translation.get_language() or settings.LANGUAGE_CODE)
        return response

    def process_view(
        self, request: HttpRequest, view: Callable[..., Any], args: Any, kwargs: dict[str, Any]
    ) -> None:
        # Only now is the tenant of a /<tenant>/ path known; it matters only when nothing else decided.
        tenant = getattr(request, "tenant", None)
        if tenant is not None and getattr(request, "language_source", SITE) == SITE:
            language = tenant_default(tenant)
            if language:
                _activate(request, language, TENANT)
