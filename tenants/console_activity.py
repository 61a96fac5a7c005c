"""This week at an institution, for the console's overview: the usage statistics of the local calendar
week so far (meetings/statistics.py) plus the people who joined and became members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Count

from meetings.statistics import Usage, local_midnight, tenant_usage
from tenants.models import Membership, Tenant


@dataclass(frozen=True)
class WeekActivity:
    first: date
    today: date
    usage: Usage
    participants: int
    lectures: int
    lecture_attendees: int
    new_members: int
    roles: dict[str, int]
    blocked: int


def week_activity(tenant: Tenant, *, now: datetime | None = None) -> WeekActivity:
    from meetings.models import Occupancy

    now = now or datetime.now(UTC)
    zone = ZoneInfo(tenant.time_zone)
    today = now.astimezone(zone).date()
    monday = today - timedelta(days=today.weekday())
    usage = tenant_usage(tenant, first=monday, last=today, now=now)
    start = local_midnight(monday, zone)
    # People, not connections: a participant id where the token carried one, else each connection once.
    joins = Occupancy.objects.filter(tenant=tenant, joined_at__gte=start, joined_at__lte=now).values_list(
        "participant_id", "occupant_jid"
    )
    participants = len({pid or jid for pid, jid in joins})
    members = Membership.objects.filter(tenant=tenant)
    roles = dict(members.filter(is_blocked=False).values_list("role").annotate(n=Count("pk")))
    return WeekActivity(
        first=monday,
        today=today,
        usage=usage,
        participants=participants,
        lectures=len(usage.attendance),
        lecture_attendees=sum(a.attendees for a in usage.attendance),
        new_members=members.filter(created_at__gte=start).count(),
        roles={role: roles.get(role, 0) for role in Membership.Role.values},
        blocked=members.filter(is_blocked=True).count(),
    )
