"""The djangosaml2 backend: who an assertion names, and their tenant and role (to be completed)."""

from __future__ import annotations

from djangosaml2.backends import Saml2Backend


class SamlIdentityBackend(Saml2Backend):
    pass
