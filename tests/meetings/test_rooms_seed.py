"""The demo rooms command behind `make run`."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.management import CommandError, call_command

from meetings import recurrence
from meetings.models import LectureSeries, Room
from tenants.models import Membership

pytestmark = pytest.mark.django_db


def test_seed_demo_rooms_is_idempotent():
    call_command("seed_demo")
    call_command("seed_demo_rooms")
    call_command("seed_demo_rooms")
    welcome = Room.objects.get(tenant__slug="demo", name="welcome")
    assert welcome.access == Room.Access.LINK and welcome.owner.username == "lecturer"
    series = LectureSeries.objects.get(tenant__slug="demo")
    assert series.room.owner == welcome.owner
    assert Membership.objects.get(user__username="lecturer", tenant__slug="demo").may_host
    assert Room.objects.filter(tenant__slug="demo").count() == 2
    assert recurrence.next_occurrences(series, after=datetime.now(UTC), limit=1)


def test_seed_demo_rooms_needs_the_demo_tenant():
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("seed_demo_rooms")
