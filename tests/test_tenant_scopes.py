"""Tenant isolation by construction (tenants/scoping.py): a query on a tenant-owned model needs a scope."""

from __future__ import annotations

import pytest
from django.test import Client
from django_scopes import ScopeError, scope, scopes_disabled

from meetings.models import LectureSeries, OccurrenceChange, PersonalFeed, Room
from portal.adapters.django_scopes import enter_scope, request_scope
from tests.factories import RoomFactory

pytestmark = pytest.mark.django_db

SCOPED = [Room, LectureSeries, OccurrenceChange, PersonalFeed]


@pytest.fixture
def two_rooms(tenant, other_tenant):
    return RoomFactory(tenant=tenant, name="ours"), RoomFactory(tenant=other_tenant, name="theirs")


@pytest.mark.parametrize("model", SCOPED, ids=lambda m: m.__name__)
def test_a_query_outside_a_tenant_scope_raises(model, two_rooms):
    with request_scope():  # as a request starts: enforced, no tenant yet
        with pytest.raises(ScopeError):
            list(model.objects.all())
        with pytest.raises(ScopeError):
            model.objects.filter(pk=1).exists()


def test_a_scope_sees_its_tenant_only(two_rooms, tenant, other_tenant):
    _ours, theirs = two_rooms
    with request_scope():
        with scope(tenant=tenant):
            assert list(Room.objects.values_list("name", flat=True)) == ["ours"]
            assert not Room.objects.filter(pk=theirs.pk).exists()
        enter_scope(tenant=other_tenant)  # as the middleware enters it for the rest of a request
        assert list(Room.objects.values_list("name", flat=True)) == ["theirs"]
        with scopes_disabled():  # a cross-tenant read says so
            assert Room.objects.count() == 2
    with request_scope(), pytest.raises(ScopeError):
        Room.objects.count()  # the request's scope did not outlive it


def test_production_logs_and_answers_instead_of_raising(two_rooms, settings, caplog):
    settings.TENANT_SCOPES_STRICT = False
    with request_scope():
        assert Room.objects.count() == 2
    assert "outside a tenant scope" in caplog.text


def test_requests_run_with_enforcement_on(two_rooms, settings):
    """The test body has scopes disabled (tests/conftest.py); a request does not inherit that."""
    from django.urls import path

    seen: dict[str, object] = {}

    def probe(request):
        try:
            Room.objects.count()
        except ScopeError:
            seen["raised"] = True
        from django.http import HttpResponse

        return HttpResponse("ok")

    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": [path("probe/", probe)]})
    assert Client().get("/probe/").status_code == 200
    assert seen == {"raised": True}
