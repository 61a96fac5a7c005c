"""Room and lecture pages of a tenant (mounted under /<tenant>/)."""

from __future__ import annotations

from typing import Any

app_name = "meetings"
urlpatterns: list[Any] = []
