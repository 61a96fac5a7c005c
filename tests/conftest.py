"""Shared fixtures: two tenants and the three actors every access test needs."""

from __future__ import annotations

import contextlib
import os
import shutil

import pytest

from tenants.models import Membership
from tests.factories import MembershipFactory, TenantFactory, UserFactory

IN_CI = os.environ.get("CI") == "true"


def require(condition: bool, reason: str) -> None:
    """Skip locally when a service or binary is missing; under CI=true a missing one fails the run."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required for CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def chromium_path() -> str:
    require(shutil.which("chromium") is not None or os.path.exists("/usr/bin/chromium"), "Debian's chromium")
    return "/usr/bin/chromium"


@pytest.fixture
def tenant(db):
    return TenantFactory(slug="uzh", name="University of Zurich")


@pytest.fixture
def other_tenant(db):
    return TenantFactory(slug="eth", name="ETH Zurich")


@pytest.fixture
def host(tenant):
    """A lecturer of `tenant`."""
    return MembershipFactory(
        tenant=tenant, role=Membership.Role.HOST, user=UserFactory(username="lecturer")
    ).user


@pytest.fixture
def member(tenant):
    """A student of `tenant`."""
    return MembershipFactory(
        tenant=tenant, role=Membership.Role.MEMBER, user=UserFactory(username="student")
    ).user


@pytest.fixture
def admin_user(tenant):
    return MembershipFactory(
        tenant=tenant, role=Membership.Role.ADMIN, user=UserFactory(username="tadmin")
    ).user


@pytest.fixture
def outsider(other_tenant):
    """A host of another tenant: must never see `tenant`'s rows."""
    return MembershipFactory(
        tenant=other_tenant, role=Membership.Role.ADMIN, user=UserFactory(username="outsider")
    ).user


@pytest.fixture(autouse=True)
def _fresh_cache():
    """The cache (Redis in make test) outlives a test's database rows; start every test without entries."""
    from django.core.cache import cache

    from tenants import session_ahead

    cache.clear()
    session_ahead.forget_all()
    yield


@pytest.fixture(autouse=True, scope="session")
def _tenant_scopes():
    """Queries outside a tenant scope raise (tenants/scoping.py). Test bodies and fixtures (module-scoped ones
    too) read and write the database directly, across tenants, so they run with scopes disabled; every request
    they make starts without a scope again (TenantMiddleware) and enters its tenant's, as in production."""
    from django.test import override_settings
    from django_scopes import scopes_disabled

    with override_settings(TENANT_SCOPES_STRICT=True), scopes_disabled():
        yield


@pytest.fixture(autouse=True)
def _tenant_scopes_per_test(_tenant_scopes):
    """Each test starts with scopes disabled again: a view called directly (APIRequestFactory, without the
    middleware's request scope) may enter a tenant's scope that must not reach the next test."""
    from django_scopes import scopes_disabled

    with scopes_disabled():
        yield


@pytest.fixture(autouse=True)
def _site_language():
    """A test client request leaves its language active in the test's thread (as it does in a worker thread
    until the next request); every test starts and ends in the site's language."""
    from django.utils import translation

    translation.deactivate()
    yield
    translation.deactivate()


@pytest.fixture
def redis_round_trips(monkeypatch):
    """`with redis_round_trips() as trips:` -> trips == [round trips to Redis made inside the block]
    (a pipeline is one; counted where redis-py sends a packed command)."""
    import contextlib

    from redis.connection import AbstractConnection

    counter = [0]
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        counter[0] += 1
        return original(self, command, check_health)

    monkeypatch.setattr(AbstractConnection, "send_packed_command", counting)

    @contextlib.contextmanager
    def measure():
        found: list[int] = []
        start = counter[0]
        yield found
        found.append(counter[0] - start)

    return measure


@contextlib.contextmanager
def keep_test_connection():
    """Around WSGI calls to the real application (not the test client): like Django's test client, keep
    the test's database connection, and so its transaction, across the request's connection handling."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def warm_request_caches(tenant) -> None:
    """Load what every request of a tenant reads from per-process or shared caches (host names, branding),
    so that pinned query counts measure the page itself."""
    from tenants.branding import branding_for_pages
    from tenants.language import tenant_default
    from tenants.middleware import host_map

    host_map()
    branding_for_pages(tenant)
    tenant_default(tenant)
