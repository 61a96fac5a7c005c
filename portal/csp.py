"""The Content-Security-Policy of every response (DESIGN.md "Pages": no inline script or style, anywhere).

A small middleware of our own rather than django-csp: the policy is one fixed dictionary, and the few
per-page additions (the Jitsi server a meeting page embeds, the IdP a SAML form posts to, what the
Redoc page needs) are declared by the page itself through `allow()` (or the `csp` template tags), so
there is one place to read and no extra dependency to pin and upgrade.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import urlsplit

from django.core.exceptions import DisallowedHost
from django.http import HttpRequest
from django.http.response import HttpResponseBase

HEADER = "Content-Security-Policy"

POLICY: dict[str, tuple[str, ...]] = {
    "default-src": ("'self'",),
    "script-src": ("'self'",),
    "style-src": ("'self'",),
    # data: for Swagger UI's icons, blob: for the branding form's preview of a chosen logo.
    "img-src": ("'self'", "data:", "blob:"),
    "font-src": ("'self'",),
    # Recordings play from the portal's signed view; pages with S3 links add the bucket's origin.
    # The stream viewer's video: hls.js feeds it through Media Source Extensions, a blob: URL (added there).
    "media-src": ("'self'",),
    # The live counts' websockets (static/js/live-count.js) are added per host, see _connect_sources.
    "connect-src": ("'self'",),
    "frame-src": ("'none'",),
    "worker-src": ("'self'",),
    "object-src": ("'none'",),
    "base-uri": ("'none'",),
    "frame-ancestors": ("'none'",),
    "form-action": ("'self'",),
}

# pysaml2 answers some SAML POST-binding steps (single logout) with its own page that submits a form from
# <body onload="document.forms[0].submit()">. That one handler is allowed by its hash, on /saml2/ only,
# together with the form's own target; tests/test_csp.py fails if pysaml2 changes the page.
SAML_PREFIX = "/saml2/"
PYSAML2_AUTO_POST = "document.forms[0].submit()"
PYSAML2_AUTO_POST_HASH = (
    "'sha256-" + base64.b64encode(hashlib.sha256(PYSAML2_AUTO_POST.encode()).digest()).decode() + "'"
)
_PYSAML2_FORM = re.compile(
    rb'<body onload="document\.forms\[0\]\.submit\(\)">.*?<form action="([^"]+)"', re.S
)

# Kept in the request's environ (PEP 3333 leaves dotted keys to applications): a DRF Request (the API
# docs) shares its HttpRequest's META, so what its template declares reaches the middleware too.
_EXTRA = "auditorium.csp_extra"


def _extra(request: HttpRequest) -> dict[str, list[str]]:
    extra: dict[str, list[str]] = request.META.setdefault(_EXTRA, {})
    return extra


def origin(url: str) -> str:
    """The origin of an absolute http(s) URL (a CSP host source), or "" for anything else."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not _HOST_SOURCE.fullmatch(parts.netloc):
        return ""
    return f"{parts.scheme}://{parts.netloc}"


_HOST_SOURCE = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]{1,5})?|\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?")


def allow(request: HttpRequest, directive: str, url: str) -> None:
    """Let this response's page use `url`'s origin for `directive` (e.g. the Jitsi server in frame-src)."""
    if directive not in POLICY:
        raise ValueError(f"unknown CSP directive {directive!r}")
    source = origin(url)
    if source:
        _extra(request).setdefault(directive, []).append(source)


def allow_keyword(request: HttpRequest, directive: str, keyword: str) -> None:
    """A relaxation a third-party page cannot do without (Redoc: runtime styles, a blob: search worker);
    only these pairs exist, so a template cannot open script-src."""
    if (directive, keyword) not in RELAXATIONS:
        raise ValueError(f"not an allowed CSP relaxation: {directive} {keyword}")
    _extra(request).setdefault(directive, []).append(keyword)


RELAXATIONS = {("style-src", "'unsafe-inline'"), ("worker-src", "blob:"), ("media-src", "blob:")}


def _render(directives: dict[str, tuple[str, ...] | list[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


@lru_cache(maxsize=64)
def _header(host: str, secure: bool) -> str:
    return _render(_with(dict(POLICY), {"connect-src": _connect_sources(host, secure)}))


def _connect_sources(host: str, secure: bool) -> list[str]:
    # Browsers differ on whether 'self' covers ws(s) of the same host: name it.
    if not host:
        return []
    return [f"wss://{host}"] if secure else [f"wss://{host}", f"ws://{host}"]


def _with(
    directives: dict[str, tuple[str, ...]], extra: dict[str, list[str]]
) -> dict[str, tuple[str, ...] | list[str]]:
    merged: dict[str, tuple[str, ...] | list[str]] = dict(directives)
    for name, sources in extra.items():
        current = [s for s in merged[name] if s != "'none'"]
        merged[name] = current + [s for s in dict.fromkeys(sources) if s not in current]
    return merged


# Answers that are not pages (JSON, images, feeds, scripts) load nothing when a browser opens them:
# the strictest policy, the same string for all, and no per-request work on the API's hot paths.
NOT_A_PAGE = "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"


def policy_for(request: HttpRequest, response: HttpResponseBase) -> str:
    if not response.get("Content-Type", "").startswith("text/html"):
        return NOT_A_PAGE
    try:
        host = request.get_host()
    except DisallowedHost:
        host = ""
    secure = request.is_secure()
    extra = {name: list(sources) for name, sources in request.META.get(_EXTRA, {}).items()}
    if request.path.startswith(SAML_PREFIX):
        for name, sources in _pysaml2_auto_post(response).items():
            extra.setdefault(name, []).extend(sources)
    if not extra:
        return _header(host, secure)
    return _render(_with(dict(POLICY), {"connect-src": _connect_sources(host, secure), **extra}))


def _pysaml2_auto_post(response: HttpResponseBase) -> dict[str, list[str]]:
    if response.streaming:
        return {}
    found = _PYSAML2_FORM.search(response.content)  # type: ignore[attr-defined]  # not streaming: HttpResponse
    target = origin(found.group(1).decode("ascii", "replace").replace("&amp;", "&")) if found else ""
    if not target:
        return {}
    return {"script-src": ["'unsafe-hashes'", PYSAML2_AUTO_POST_HASH], "form-action": [target]}


class ContentSecurityPolicyMiddleware:
    """Sets the policy on every response that does not carry its own."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        if HEADER not in response:
            response[HEADER] = policy_for(request, response)
        return response
