from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class TenantsConfig(AppConfig):
    name = "tenants"
    verbose_name = _("Institutions")

    def ready(self) -> None:
        from tenants import hotcache, saml_logging

        hotcache.connect()
        saml_logging.install()
