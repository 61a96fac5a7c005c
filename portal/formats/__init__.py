"""Dates, times and numbers in one style on every page, in the conventions of the language shown.

The per-language format modules beside this file (settings.FORMAT_MODULE_PATH) give Django's format names
their values: a 24-hour clock everywhere, the weekday written out before the date.

    en  Monday, 7 December 2026, 10:15        de  Montag, 7. Dezember 2026, 10:15
    fr  lundi 7 décembre 2026, 10 h 15        it  lunedì 7 dicembre 2026, 10:15

A time is followed by its zone, "10:15 (Europe/London)", when that zone is not the viewer's: the viewer's is
the zone of the page's tenant, else the active one (settings.TIME_ZONE). Templates use these through the
`formats` template library (portal/templatetags/formats.py).
"""

from __future__ import annotations

from datetime import date, datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils import formats, timezone, translation

Zone = tzinfo | str | None
DASH = "\u2013"  # an en dash between the two ends of a span


def _zone(zone: Zone) -> tzinfo:
    if zone is None or zone == "":
        return timezone.get_current_timezone()
    if isinstance(zone, str):
        try:
            return ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return timezone.get_current_timezone()
    return zone


def _name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or zone)


def _named(text: str, zone: tzinfo, viewer_zone: Zone) -> str:
    if _name(zone) == _name(_zone(viewer_zone)):
        return text
    return f"{text} ({_name(zone)})"


def _written(text: str) -> str:
    # French and Italian write weekdays and months in lower case inside a date ("lundi 7 décembre"); the
    # catalogues capitalise them (Django's Italian one, and the portal's own, whose weekday names also label
    # checkboxes). The text holds no other letters: a zone name is added afterwards.
    return text.lower() if translation.get_language() in ("fr", "it") else text


def _local(value: datetime, zone: tzinfo) -> datetime:
    return timezone.localtime(value, zone) if timezone.is_aware(value) else value


def day(value: date | datetime, zone: Zone = None) -> str:
    """Monday, 7 December 2026."""
    if isinstance(value, datetime):
        value = _local(value, _zone(zone))
    return _written(formats.date_format(value, "WEEKDAY_DATE_FORMAT"))


def clock(value: datetime, zone: Zone = None, *, viewer_zone: Zone = None) -> str:
    """10:15 (10 h 15 in French), with the zone when it is not the viewer's."""
    where = _zone(zone)
    return _named(formats.time_format(_local(value, where), "TIME_FORMAT"), where, viewer_zone)


def moment(value: datetime, zone: Zone = None, *, viewer_zone: Zone = None) -> str:
    """Monday, 7 December 2026, 10:15, with the zone when it is not the viewer's."""
    where = _zone(zone)
    return _named(_written(formats.date_format(_local(value, where), "DATETIME_FORMAT")), where, viewer_zone)


def span(start: datetime, end: datetime, zone: Zone = None, *, viewer_zone: Zone = None) -> str:
    """Monday, 7 December 2026, 10:15-11:45; the end's day is named too when it is another day."""
    where = _zone(zone)
    first, last = _local(start, where), _local(end, where)
    opening = _written(formats.date_format(first, "DATETIME_FORMAT"))
    if last.date() == first.date():
        closing = formats.time_format(last, "TIME_FORMAT")
        return _named(f"{opening}{DASH}{closing}", where, viewer_zone)
    closing = _written(formats.date_format(last, "DATETIME_FORMAT"))
    return _named(f"{opening} {DASH} {closing}", where, viewer_zone)


def stamp(value: datetime, zone: Zone = None) -> str:
    """A compact date and time for tables: 07.12.2026 10:15 (2026-12-07 10:15 in English)."""
    return formats.date_format(_local(value, _zone(zone)), "SHORT_DATETIME_FORMAT")


def number(value: int | float | Decimal) -> str:
    """12'345 in German and Italian, 12 345 in French, 12,345 in English."""
    return formats.number_format(value, force_grouping=True)
