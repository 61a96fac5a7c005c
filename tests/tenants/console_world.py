"""A lived-in institution for the console's tests: people in every role, rooms, a month of meetings and
an audit log written by the real services (so that the audit sentences are tested on real rows)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from meetings import anonymous
from meetings.models import MeetingSession, Occupancy, Room
from tenants import services
from tenants.models import Membership, Tenant, User
from tests.factories import MembershipFactory, UserFactory
from tests.meetings.helpers import make_room


@dataclass
class World:
    tenant: Tenant
    admin: User
    lecturer: User
    students: list[User]
    algebra: Room
    anonymous_room: Room


def person(tenant: Tenant, username: str, first: str, last: str, role: str) -> User:
    user = UserFactory(
        username=username, first_name=first, last_name=last, email=f"{username}@uzh.example.org"
    )
    MembershipFactory(tenant=tenant, user=user, role=role)
    return user


def meeting(tenant: Tenant, room: Room, start: datetime, minutes: int, people: int) -> MeetingSession:
    session = MeetingSession.objects.create(
        tenant=tenant,
        deployment=tenant.deployment,  # type: ignore[attr-defined]
        room=room,
        room_name=room.name,
        created_at=start,
        destroyed_at=start + timedelta(minutes=minutes),
        peak_participants=people,
        participant_seconds=people * minutes * 60,
    )
    for n in range(people):
        Occupancy.objects.create(
            tenant=tenant,
            deployment=tenant.deployment,  # type: ignore[attr-defined]
            session=session,
            occupant_jid=f"p{n}@meet/{session.pk}",
            joined_at=start,
            left_at=start + timedelta(minutes=minutes - n),
            participant_id=f"person-{n}",
        )
    return session


def build(tenant: Tenant, admin: User, *, now: datetime | None = None, students: int = 6) -> World:
    """`admin` administers `tenant`; adds a lecturer, students, rooms, 30 days of meetings and audit rows."""
    now = now or datetime.now(UTC)
    lecturer = person(tenant, "lena", "Lena", "Lecturer", Membership.Role.HOST)
    names = [
        "Anna Arnold",
        "Bruno Berger",
        "Chiara Conti",
        "David Dubois",
        "Eva Egli",
        "Fabio Frei",
        "Gina Graf",
    ]
    people = [
        person(tenant, f"student{n}", *names[n % len(names)].split(), Membership.Role.MEMBER)
        for n in range(students)
    ]
    algebra = make_room(lecturer, tenant, title="Algebra I")
    make_room(lecturer, tenant, title="Analysis II")
    room = anonymous.create_anonymous_room(tenant=tenant, now=now)
    services.set_member_blocked(actor=admin, membership=Membership.objects.get(user=people[0]), blocked=True)
    services.change_member_role(
        actor=admin, membership=Membership.objects.get(user=people[1]), role=Membership.Role.HOST
    )
    for day in range(30):
        start = now - timedelta(days=day, hours=2)
        if day % 3 != 2:
            meeting(tenant, algebra, start, minutes=45 + day, people=2 + (day * 7) % 11)
    return World(tenant, admin, lecturer, people, algebra, room)


def many_audit_rows(tenant: Tenant, actor: User, count: int, **extra: Any) -> None:
    for n in range(count):
        services.audit(
            tenant=tenant, actor=actor, action="branding.changed", target=tenant.slug, fields=[f"f{n}"]
        )
