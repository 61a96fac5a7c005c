"""Fixtures shared by the meetings tests."""

from __future__ import annotations

import pytest

from meetings import live


@pytest.fixture(params=["sql", "orm"])
def count_path(request, monkeypatch):
    """Run an event test through each implementation of the count rules (meetings/live.py): "sql", the
    one-statement paths for joins and leaves with a count (the general services for everything else), and
    "orm", the general services for every event. A test that is about one path only parametrises this
    fixture itself (`@pytest.mark.parametrize("count_path", ["sql"], indirect=True)`)."""
    if request.param == "orm":
        monkeypatch.setattr(live, "_one_statement", lambda sql, params: None)
    return request.param
