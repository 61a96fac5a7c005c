from __future__ import annotations

from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class PortalConfig(AppConfig):
    name = "portal"

    def ready(self) -> None:
        from portal import checks  # noqa: F401 - registers the deploy checks


class OperatorAdminConfig(AdminConfig):
    """django.contrib.admin with the operators-only site (portal/admin.py) as `admin.site`."""

    default_site = "portal.admin.OperatorAdminSite"
