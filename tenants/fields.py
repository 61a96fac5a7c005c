"""A text field whose value is sealed at rest (see portal.crypto)."""

from __future__ import annotations

import ipaddress
import re
from typing import Any
from urllib.parse import urlsplit

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

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


_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_SERVICE_HOST = re.compile(rf"^{_LABEL}(?:\.{_LABEL})*$")


def validate_service_url(value: str) -> None:
    """An http(s) URL of a service on the operator's network: unlike Django's URLValidator, host names of
    one label (`http://prosody:5280`, as container networks name services) are fine."""
    message = _("Enter an http:// or https:// URL, e.g. http://prosody:5280")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValidationError(message, code="invalid") from exc
    host = parts.hostname or ""
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        raise ValidationError(message, code="invalid")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not _SERVICE_HOST.match(host):
            raise ValidationError(message, code="invalid") from None
    if port == 0:
        raise ValidationError(message, code="invalid")


class ServiceURLField(models.CharField):
    """A URL of an internal service (see validate_service_url)."""

    default_validators = [validate_service_url]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 200)
        super().__init__(*args, **kwargs)
