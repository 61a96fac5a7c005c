from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class StreamsConfig(AppConfig):
    name = "meetings.streams"
    label = "streams"
    verbose_name = _("Live streams")
    default_auto_field = "django.db.models.BigAutoField"
