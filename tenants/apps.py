from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Institutions")

    def ready(self) -> None:
        from portal.adapters import pysaml2 as pysaml2_adapter
        from tenants import hotcache, middleware, saml_logging

        # Signature checks and decryption in this process (SAML_CRYPTO); pysaml2 offers no setting for it.
        pysaml2_adapter.install()
        hotcache.connect()
        middleware.connect()
        saml_logging.install()
