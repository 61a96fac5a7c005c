"""A text field whose value is sealed at rest (see portal.crypto)."""

from __future__ import annotations

from typing import Any

from django.db import models

from portal.crypto import seal, unseal


class SealedTextField(models.TextField):
    """Stores Fernet-sealed text; Python code sees the plain value. Never filter on it."""

    def from_db_value(self, value: str | None, expression: Any, connection: Any) -> str | None:
        if value is None or value == "":
            return value
        return unseal(value)

    def get_prep_value(self, value: Any) -> Any:
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return seal(value)
