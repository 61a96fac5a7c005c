from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RecordingsConfig(AppConfig):
    name = "meetings.recordings"
    label = "recordings"
    verbose_name = _("Recordings")
    default_auto_field = "django.db.models.BigAutoField"
