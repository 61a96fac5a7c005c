"""Template tags with which a page declares what it needs beyond the portal's Content-Security-Policy.

`{% csp_allow "frame-src" url %}` adds url's origin to a directive of this response's policy;
`{% csp_allow_keyword "worker-src" "blob:" %}` one of the few relaxations portal.csp.RELAXATIONS lists.
Both print nothing; they act on the request, which the middleware reads afterwards."""

from __future__ import annotations

from typing import Any

from django import template

from portal import csp

register = template.Library()


@register.simple_tag(takes_context=True)
def csp_allow(context: dict[str, Any], directive: str, url: str) -> str:
    request = context.get("request")
    if request is not None:
        csp.allow(request, directive, str(url))
    return ""


@register.simple_tag(takes_context=True)
def csp_allow_keyword(context: dict[str, Any], directive: str, keyword: str) -> str:
    request = context.get("request")
    if request is not None:
        csp.allow_keyword(request, directive, keyword)
    return ""
