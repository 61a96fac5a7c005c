"""The SP configuration for djangosaml2 (to be completed: built once per process and cached)."""

from __future__ import annotations

from typing import Any

from saml2.config import SPConfig


def load_config(request: Any = None) -> SPConfig:
    raise NotImplementedError("SAML configuration is not built yet")
