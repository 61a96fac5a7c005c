"""Helpers for API tests: tokens, clients and the error shape."""

from __future__ import annotations

import json
from typing import Any

from rest_framework.test import APIClient

from tenants.api.services import ROLE_SCOPES, issue_token
from tenants.models import Membership, Tenant, User


def token_for(user: User, tenant: Tenant, scopes: list[str] | None = None, name: str = "test") -> str:
    """A fresh token; by default with every scope the user's role in the tenant allows."""
    if scopes is None:
        role = Membership.objects.get(user=user, tenant=tenant).role
        scopes = sorted(ROLE_SCOPES[role])
    return issue_token(actor=user, tenant=tenant, name=name, scopes=scopes, lifetime_days=30).plaintext


def bearer_client(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


def session_client(user: User) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    """The one error shape: {"error": {"code", "message", "fields"}}, nothing else."""
    assert response.status_code == status, (response.status_code, getattr(response, "content", b"")[:500])
    assert response["Content-Type"].startswith("application/json")
    # Test-client responses have .json(); a view called directly (APIRequestFactory) has only content.
    body = response.json() if hasattr(response, "json") else json.loads(response.content)
    assert set(body) == {"error"}
    error = body["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["code"], str) and error["code"]
    assert isinstance(error["message"], str) and len(error["message"]) > 5
    assert isinstance(error["fields"], dict)
    for messages in error["fields"].values():
        assert isinstance(messages, list) and all(isinstance(m, str) for m in messages)
    if code is not None:
        assert error["code"] == code, error
    return error
