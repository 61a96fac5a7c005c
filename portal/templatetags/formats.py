"""Template tags for the one style of dates, times and numbers (portal/formats/__init__.py).

    {% load formats %}
    {% span lecture.start lecture.end lecture.series.time_zone %}   Monday, 7 December 2026, 10:15-11:45
    {% moment opens_at room.tenant.time_zone as when %}             Monday, 7 December 2026, 10:15
    {{ entry.created_at|stamp:tenant.time_zone }}                   2026-12-07 10:15 (07.12.2026 10:15)
    {{ minutes|number }}                                            12'345

The viewer's zone, against which a lecture's zone is named, is the page's tenant's (`tenant` in the context).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import template

from portal import formats

register = template.Library()


def _viewer_zone(context: template.Context) -> str | None:
    tenant = context.get("tenant")
    return getattr(tenant, "time_zone", None) or None


@register.simple_tag(takes_context=True)
def span(context: template.Context, start: datetime, end: datetime, zone: Any = None) -> str:
    return formats.span(start, end, zone, viewer_zone=_viewer_zone(context))


@register.simple_tag(takes_context=True)
def moment(context: template.Context, value: datetime, zone: Any = None) -> str:
    return formats.moment(value, zone, viewer_zone=_viewer_zone(context))


@register.simple_tag(takes_context=True)
def clock(context: template.Context, value: datetime, zone: Any = None) -> str:
    return formats.clock(value, zone, viewer_zone=_viewer_zone(context))


@register.filter
def day(value: date | datetime | None, zone: Any = None) -> str:
    return formats.day(value, zone) if value else ""


@register.filter
def stamp(value: datetime | None, zone: Any = None) -> str:
    return formats.stamp(value, zone) if value else ""


@register.filter
def number(value: Any) -> Any:
    try:
        return formats.number(value)
    except (TypeError, ValueError):
        return value
