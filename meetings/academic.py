"""The institution's academic calendar (semesters, holidays) and what it does to lecture series.

A series that skips holidays (the default) gets its lectures on holidays cancelled by the calendar: ordinary
cancellations marked `from_calendar`, so the pages, the feeds and the API show them with the holiday's name
and hosts can hold one anyway with "restore" (remembered in `calendar_exceptions`). The cancellations are
re-synced whenever the series or the calendar changes; a person's own cancellation or move of a lecture
always wins over the calendar."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from meetings import recurrence
from meetings.models import AcademicPeriod, LectureSeries, OccurrenceChange
from tenants.models import Tenant, User
from tenants.services import audit


@dataclass(frozen=True)
class Holiday:
    first_day: date
    last_day: date
    title: str


def holidays_of(tenant: Tenant) -> list[Holiday]:
    return [
        Holiday(p.first_day, p.last_day, p.title)
        for p in AcademicPeriod.objects.filter(tenant=tenant, kind=AcademicPeriod.Kind.HOLIDAY)
    ]


def holiday_on(day: date, holidays: list[Holiday]) -> Holiday | None:
    return next((h for h in holidays if h.first_day <= day <= h.last_day), None)


def semester_containing(tenant: Tenant, day: date) -> AcademicPeriod | None:
    """The semester a date lies in (a series starting then ends with it by default)."""
    return (
        AcademicPeriod.objects.filter(
            tenant=tenant, kind=AcademicPeriod.Kind.SEMESTER, first_day__lte=day, last_day__gte=day
        )
        .order_by("first_day")
        .first()
    )


def _calendar_cancellations(series: LectureSeries, holidays: list[Holiday]) -> dict[datetime, str]:
    """Original starts (UTC) the calendar cancels, with the holiday's name as the note."""
    if not series.skip_holidays or not holidays:
        return {}
    tz = recurrence.zone(series.time_zone)
    kept = set(series.calendar_exceptions or [])
    wanted: dict[datetime, str] = {}
    for start in recurrence.rule_starts(series):
        holiday = holiday_on(start.astimezone(tz).date(), holidays)
        if holiday is not None and start.strftime(recurrence.KEY_FORMAT) not in kept:
            wanted[start] = holiday.title
    return wanted


def sync_series(series: LectureSeries, holidays: list[Holiday] | None = None) -> bool:
    """Bring the calendar's cancellations of one series up to date; True when something changed. Runs
    inside the caller's transaction (services that change a series or the calendar)."""
    if holidays is None:
        holidays = holidays_of(series.tenant)
    wanted = _calendar_cancellations(series, holidays)
    existing = {c.original_start.astimezone(UTC): c for c in OccurrenceChange.objects.filter(series=series)}
    changed = False
    for start, change in existing.items():
        if change.from_calendar and change.kind == OccurrenceChange.Kind.CANCELLED and start not in wanted:
            change.delete()
            changed = True
        elif change.from_calendar and start in wanted and change.note != wanted[start][:200]:
            change.note = wanted[start][:200]
            change.save(update_fields=["note"])
            changed = True
    new = [
        OccurrenceChange(
            tenant=series.tenant,
            series=series,
            original_start=start,
            kind=OccurrenceChange.Kind.CANCELLED,
            note=title[:200],
            from_calendar=True,
        )
        for start, title in wanted.items()
        if start not in existing
    ]
    if new:
        OccurrenceChange.objects.bulk_create(new)
        changed = True
    if changed:
        series.revision += 1
        series.save(update_fields=["revision"])
    return changed


def sync_tenant(tenant: Tenant) -> int:
    """Re-sync every series of the tenant after its calendar changed; the number of series changed."""
    holidays = holidays_of(tenant)
    series_list = LectureSeries.objects.filter(tenant=tenant, room__archived=False).select_related("tenant")
    return sum(1 for s in series_list if sync_series(s, holidays))


# Services: the console's academic calendar page calls these ------------------------------------


@transaction.atomic
def add_academic_period(
    *, actor: User, tenant: Tenant, kind: str, title: str, first_day: date, last_day: date
) -> AcademicPeriod:
    title = (title or "").strip()
    if not title:
        raise ValidationError({"title": _("Give the period a name.")})
    if last_day < first_day:
        raise ValidationError({"last_day": _("The last day must be on or after the first day.")})
    if (last_day - first_day) > timedelta(days=366):
        raise ValidationError({"last_day": _("A period lasts at most a year.")})
    period = AcademicPeriod(tenant=tenant, kind=kind, title=title, first_day=first_day, last_day=last_day)
    period.full_clean(exclude=["tenant"], validate_constraints=False)
    period.save()
    changed = sync_tenant(tenant) if kind == AcademicPeriod.Kind.HOLIDAY else 0
    audit(
        tenant=tenant,
        actor=actor,
        action="calendar.period_added",
        target=title,
        kind=kind,
        first_day=first_day.isoformat(),
        last_day=last_day.isoformat(),
        series_changed=changed,
    )
    return period


@transaction.atomic
def remove_academic_period(*, actor: User, period: AcademicPeriod) -> None:
    tenant, kind, title = period.tenant, period.kind, period.title
    period.delete()
    changed = sync_tenant(tenant) if kind == AcademicPeriod.Kind.HOLIDAY else 0
    audit(
        tenant=tenant,
        actor=actor,
        action="calendar.period_removed",
        target=title,
        kind=kind,
        series_changed=changed,
    )


# Preview of a series that is being filled in ------------------------------------------------------


@dataclass(frozen=True)
class PreviewDate:
    start: datetime  # UTC
    end: datetime
    holiday: str  # the holiday's name when the calendar skips it
    overlaps: str  # the title of another series of the host at the same time

    def as_json(self, tz: Any) -> dict[str, Any]:
        local = self.start.astimezone(tz)
        return {
            "start": local.isoformat(),
            "date": local.date().isoformat(),
            "holiday": self.holiday,
            "overlaps": self.overlaps,
        }


def preview(
    series: LectureSeries, *, others: list[LectureSeries], holidays: list[Holiday]
) -> list[PreviewDate]:
    """The lectures an unsaved series would have: skipped holidays marked, overlaps with the host's other
    series named. At most MAX_OCCURRENCES lectures (the rule's own cap)."""
    tz = recurrence.zone(series.time_zone)
    length = timedelta(minutes=series.duration_minutes)
    starts = list(recurrence.rule_starts(series))
    if not starts:
        return []
    busy = [
        o
        for other in others
        for o in recurrence.occurrences(
            other, start=starts[0], end=starts[-1] + length, include_cancelled=False
        )
    ]
    kept = set(series.calendar_exceptions or [])
    result = []
    for start in starts:
        holiday = holiday_on(start.astimezone(tz).date(), holidays) if series.skip_holidays else None
        if holiday is not None and start.strftime(recurrence.KEY_FORMAT) in kept:
            holiday = None
        clash = next((o for o in busy if o.start < start + length and start < o.end), None)
        result.append(
            PreviewDate(
                start=start,
                end=start + length,
                holiday=holiday.title if holiday else "",
                overlaps=clash.series.title if clash and not holiday else "",
            )
        )
    return result
