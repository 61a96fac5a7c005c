"""schemathesis over the whole API, stateful: the schema's OpenAPI links (tenants/api/schema.py) chain the
operations that create objects to those that use them, so rooms, series, lectures and tokens are reached with
real names, not only their 404s. Run with personal API tokens of two tenants, through the production WSGI
application and the real database. Checks: no server error, status codes and content types as documented,
bodies as the schema says. Every object one tenant reaches answers 404 to the other tenant's token.

The budget is fixed and the run derandomized (same cases every run), so CI is reproducible.
Run alone: `make test PYTEST_ARGS="-q tests/test_api_schemathesis.py"`.
"""

from __future__ import annotations

import zlib
from datetime import timedelta
from typing import Any

import hypothesis
import pytest
import schemathesis
from django.db import transaction
from django.utils import timezone
from rest_framework.test import APIClient
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from meetings import recurrence, services
from tenants.models import Membership
from tests.api_support import token_for
from tests.conftest import keep_test_connection
from tests.factories import MembershipFactory, TenantFactory, UserFactory
from tests.meetings.helpers import make_series

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
BUDGET = hypothesis.settings(
    max_examples=50,  # scenarios per tenant
    stateful_step_count=10,
    deadline=None,
    derandomize=True,  # a fixed seed: the same scenarios every run
    database=None,
    suppress_health_check=list(hypothesis.HealthCheck),
    phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],  # no shrinking: report, don't minimise
)
# What must have answered 2xx at least once for each tenant: creating rooms and series, and operations on
# objects (a path parameter) reached through links. Which object operations the budget reaches varies with
# the data the server makes up (names, codes), so a floor, not a list. Tokens cannot manage tokens (a
# session can: tests/test_api_framework.py), so the token operations answer 403 here.
MUST_SUCCEED = {"POST /api/v1/rooms/", "POST /api/v1/rooms/{room}/series/"}
OBJECT_OPERATIONS_FLOOR = 6  # typically 9 to 12
# Where a scenario's first step names an object, every other one names an existing object (seeded below and
# learnt from answers), so that generated bodies reach the success paths, not only the 404 of a random name.
FIELDS = {"room": "name", "code": "code", "prefix": "prefix", "key": "key"}
FIRST_LECTURE = timezone.localdate() + timedelta(days=7)


@pytest.fixture
def two_tenants(settings: Any) -> dict[str, dict[str, Any]]:
    """An admin of each tenant with a token, another token to look at (and revoke), a room with a series."""
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            "address": "1000000/min",
            "token": "1000000/min",
            "token_failure": "1000/min",
        },
    }
    world: dict[str, dict[str, Any]] = {}
    for slug in ("uzh", "eth"):
        tenant = TenantFactory(slug=slug)
        admin = MembershipFactory(
            tenant=tenant, role=Membership.Role.ADMIN, user=UserFactory(username=f"{slug}-admin")
        ).user
        room = services.create_room(actor=admin, tenant=tenant, title=f"Algebra at {slug}")
        first = timezone.localdate() + timedelta(days=7)
        series = make_series(room, first_date=first, weekdays=[first.weekday()])
        lecture = recurrence.next_occurrences(series, after=timezone.now(), limit=1)[0]
        headers = {"Authorization": f"Bearer {token_for(admin, tenant)}"}
        spare = token_for(admin, tenant, name="spare").split("_")[1]
        known = {"room": [room.name], "code": [series.code], "key": [lecture.key], "prefix": [spare]}
        world[slug] = {"headers": headers, "known": known}
    return world


def run_stateful(
    headers: dict[str, str], other: dict[str, str], known: dict[str, list[str]]
) -> tuple[set[str], list[str]]:
    """One derandomized stateful run with `headers`: (operations that succeeded, failures). Failures are
    collected, not raised: Hypothesis would replay a failing scenario against a database it changed."""
    from portal.wsgi import application

    with keep_test_connection():
        schema = schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)
    succeeded: set[str] = set()
    failures: list[str] = []

    class Machine(schema.as_state_machine()):  # type: ignore[misc]
        """Each scenario starts from the same database (a savepoint rolled back at its end): Hypothesis
        replays scenarios and requires the same answers to the same requests."""

        def setup(self) -> None:
            self.scenario = transaction.atomic()
            self.scenario.__enter__()
            self.known = {name: list(values) for name, values in known.items()}

        def teardown(self) -> None:
            transaction.set_rollback(True)
            self.scenario.__exit__(None, None, None)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def before_call(self, case: Any) -> None:
            names = self.known
            unknown = [n for n, v in (case.path_parameters or {}).items() if v not in names.get(n, [v])]
            # Every other such case (decided by its values, so a replay decides the same) names real objects.
            if unknown and zlib.crc32(repr(sorted(case.path_parameters.items())).encode()) % 2:
                for index, name in enumerate(unknown):
                    case.path_parameters[name] = names[name][index % len(names[name])]
            creates_series = case.method.upper() == "POST" and case.operation.path.endswith("/series/")
            if creates_series and isinstance(case.body, dict):
                # What the schema cannot say: the first lecture within the years the form accepts, and either
                # a last date or a number of lectures (not both).
                case.body.update(first_date=str(FIRST_LECTURE), count=3)
                case.body.pop("until", None)
                case.body.pop("time_zone", None)

        def validate_response(
            self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any
        ) -> None:
            try:
                case.validate_response(response, checks=CHECKS, headers=headers)
            except Exception as failure:  # schemathesis' FailureGroup: one message per failed check
                failures.append(
                    f"{case.method.upper()} {case.formatted_path} -> {response.status_code}: {failure}"
                )

        def after_call(self, response: Any, case: Any) -> None:
            super().after_call(response, case)
            if response.status_code >= 300:
                return
            succeeded.add(f"{case.method.upper()} {case.operation.path}")
            body = response.json() if response.content else None
            for item in body if isinstance(body, list) else body.get("results", [body]) if body else []:
                for param, field in FIELDS.items():
                    value = item.get(field) if isinstance(item, dict) else None
                    if isinstance(value, str) and value not in self.known[param] and value != own_prefix:
                        self.known[param].append(value)
            if case.method.upper() == "GET" and case.path_parameters:
                # The same object through the other tenant's token: not found, as if it did not exist.
                foreign = case.call(headers=other)
                if foreign.status_code != 404:
                    failures.append(f"{case.formatted_path} -> {foreign.status_code} for the other tenant")

    own_prefix = headers["Authorization"].split("_")[1]  # never revoke the token the run uses
    with keep_test_connection():
        Machine.run(settings=BUDGET)
    return succeeded, failures


@pytest.mark.parametrize("tenant", ["uzh", "eth"])
def test_stateful_run_finds_no_server_error_and_no_schema_violation(two_tenants, tenant):
    other = two_tenants["eth" if tenant == "uzh" else "uzh"]["headers"]
    succeeded, failures = run_stateful(two_tenants[tenant]["headers"], other, two_tenants[tenant]["known"])
    if failures:
        pytest.fail(f"{len(failures)} failures:\n" + "\n\n".join(failures), pytrace=False)
    assert succeeded >= MUST_SUCCEED, sorted(MUST_SUCCEED - succeeded)
    on_objects = sorted(op for op in succeeded if "{" in op)
    assert len(on_objects) >= OBJECT_OPERATIONS_FLOOR, on_objects


# What schemathesis found, kept as plain tests -----------------------------------------------------------


def test_a_huge_page_size_is_capped_not_a_server_error(two_tenants):
    """?limit=10**30 reached PostgreSQL as a LIMIT beyond bigint (500); the pagination caps it."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=two_tenants["uzh"]["headers"]["Authorization"])
    for url in ("/api/v1/rooms/", "/api/v1/rooms/{room}/series/"):
        url = url.format(room=two_tenants["uzh"]["known"]["room"][0])
        response = client.get(url, {"limit": str(10**30), "offset": str(10**30)})
        assert response.status_code == 200, response.content
        assert response.json()["results"] == []
        assert len(client.get(url, {"limit": str(10**30)}).json()["results"]) >= 1
