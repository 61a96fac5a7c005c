"""Seed rooms of the development tenant `demo` (run by `make run` after seed_demo; safe to run again).

- `welcome`: open to anyone with the link, owned by `lecturer`;
- a weekly lecture series (Mondays and Thursdays 10:15, 90 minutes, 14 weeks from this week) in a tenant-wide
  room owned by `lecturer`, the user the development IdP's lecturer signs in as."""

from __future__ import annotations

from datetime import date, time, timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django_scopes import scope

from meetings import services
from meetings.models import LectureSeries, Room
from tenants.models import Membership, Tenant, User
from tenants.services import grant_role

LECTURE_ROOM = "introduction-to-auditorium"


class Command(BaseCommand):
    help = "Create demo rooms and a weekly lecture series for the user `lecturer` in tenant `demo`."

    def handle(self, *args: Any, **opts: Any) -> None:
        tenant = Tenant.objects.filter(slug="demo").first()
        if tenant is None:
            raise CommandError("tenant demo is missing: run `manage.py seed_demo` first")
        with scope(tenant=tenant):  # the demo tenant's rows only
            self._seed(tenant)

    def _seed(self, tenant: Tenant) -> None:
        if settings.PORTAL_DEV_IDP:
            # The person the development IdP's `lecturer` signs in as, so that they find these rooms.
            from tenants.dev_idp import idp as dev_idp

            lecturer, _membership = dev_idp.record_person("lecturer")
        else:
            lecturer, created = User.objects.get_or_create(
                username="lecturer",
                defaults={"first_name": "Lea", "last_name": "Lecturer", "email": "lecturer@demo.example.org"},
            )
            if created:
                lecturer.set_unusable_password()
                lecturer.save(update_fields=["password"])
        membership = Membership.objects.filter(user=lecturer, tenant=tenant).first()
        if membership is None or not membership.may_host:
            grant_role(actor=None, tenant=tenant, user=lecturer, role=Membership.Role.HOST)

        if not Room.objects.filter(tenant=tenant, name="welcome").exists():
            services.create_room(
                actor=lecturer, tenant=tenant, title="Welcome", public_name="welcome", access=Room.Access.LINK
            )
            self.stdout.write(self.style.SUCCESS("seeded room welcome (anyone with the link)"))

        room = Room.objects.filter(tenant=tenant, name=LECTURE_ROOM).first()
        if room is None:
            room = services.create_room(
                actor=lecturer,
                tenant=tenant,
                title="Introduction to auditorium",
                public_name=LECTURE_ROOM,
                access=Room.Access.TENANT,
            )
        if not LectureSeries.objects.filter(room=room).exists():
            monday = date.today() - timedelta(days=date.today().weekday())
            services.schedule_series(
                actor=lecturer,
                room=room,
                title="Introduction to auditorium",
                first_date=monday,
                start_time=time(10, 15),
                duration_minutes=90,
                interval_weeks=1,
                weekdays=[0, 3],
                count=28,
                time_zone=tenant.time_zone,
            )
            self.stdout.write(self.style.SUCCESS(f"seeded weekly lecture series in room {LECTURE_ROOM}"))
        self.stdout.write("demo rooms ready")
