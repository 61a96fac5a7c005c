"""django-scopes adapter: a request's tenant scope, entered where the tenant becomes known and left with the
request.

django-scopes offers `scope()` and `scopes_disabled()` as `with` blocks, which copy the surrounding scope. A
request needs two things they do not give: to start from no scope at all whatever surrounds it (a test body
that disabled scopes must not lend that to the requests it makes), and to enter the tenant's scope in the
middle of the request (Django's `process_view`, DRF's permission checks) until the request ends. Both set the
ContextVar that `django_scopes.get_scope()` reads; `tests/adapters/test_django_scopes_contract.py` fails when
a new django-scopes keeps its state elsewhere or in another shape.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django_scopes import state as scopes_state


@contextmanager
def request_scope() -> Iterator[None]:
    """Around one request (or websocket connection, or command): scopes enforced, no tenant yet."""
    token = scopes_state.state.set({"_enabled": True})
    try:
        yield
    finally:
        scopes_state.state.reset(token)


def enter_scope(**dimensions: Any) -> None:
    """Until the enclosing request_scope() ends: queries are scoped to `dimensions` (tenant=...)."""
    scopes_state.state.set({"_enabled": True, **dimensions})


def enter_cross_tenant() -> None:
    """Until the enclosing request_scope() ends: no tenant scope (callers say in a line why they may)."""
    scopes_state.state.set({"_enabled": False})
