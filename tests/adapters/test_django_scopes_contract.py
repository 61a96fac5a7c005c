"""Contract of portal/adapters/django_scopes.py with django-scopes: where its scope lives and what it means.

Fails loudly when a new django-scopes keeps the current scope elsewhere or reads it differently."""

from __future__ import annotations

import contextvars

from django_scopes import get_scope, scope, scopes_disabled
from django_scopes import state as scopes_state

from portal.adapters.django_scopes import enter_cross_tenant, enter_scope, request_scope


def test_the_scope_is_one_context_variable_read_by_get_scope():
    assert isinstance(scopes_state.state, contextvars.ContextVar)
    token = scopes_state.state.set({"_enabled": True, "tenant": 7})
    try:
        assert get_scope() == {"_enabled": True, "tenant": 7}
    finally:
        scopes_state.state.reset(token)


def test_scope_blocks_copy_the_surrounding_scope_and_restore_it():
    with request_scope():
        enter_scope(tenant=1)
        with scope(tenant=2):
            assert get_scope()["tenant"] == 2
        assert get_scope() == {"_enabled": True, "tenant": 1}
        with scopes_disabled():
            assert get_scope()["_enabled"] is False
        assert get_scope() == {"_enabled": True, "tenant": 1}


def test_a_request_scope_starts_from_nothing_and_leaves_nothing():
    with scopes_disabled(), scope(tenant=3):
        outside = dict(get_scope())
        with request_scope():
            assert get_scope() == {"_enabled": True}  # neither disabled nor tenant 3
            enter_scope(tenant=4)
            enter_cross_tenant()
            assert get_scope() == {"_enabled": False}
        assert get_scope() == outside
