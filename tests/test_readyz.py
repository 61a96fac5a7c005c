"""GET /readyz: what a load balancer asks before sending traffic (CONTRACTS §5)."""

from __future__ import annotations

import socket
import time

import pytest

pytestmark = pytest.mark.django_db


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_ready_when_postgresql_and_redis_answer(client, settings):
    assert settings.REDIS_URL  # make test runs against the real Redis
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_redis_down_is_a_fast_503_naming_it(client, settings):
    settings.REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    started = time.monotonic()
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json() == {"status": "unavailable", "down": ["redis"]}
    assert response["Retry-After"] == "5"
    assert time.monotonic() - started < 2


def test_a_frozen_redis_answers_503_within_its_timeout(client, settings):
    """A host that accepts the connection and never answers (as a SIGSTOPped Redis does)."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(1)
        settings.REDIS_URL = f"redis://127.0.0.1:{silent.getsockname()[1]}/0"
        started = time.monotonic()
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    assert response.status_code == 503 and response.json()["down"] == ["redis"]
    assert elapsed < 2


def test_only_get_and_head(client):
    assert client.post("/readyz").status_code == 405
    assert client.head("/readyz").status_code == 200
