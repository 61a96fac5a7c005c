from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.core.validators import MaxValueValidator
from django.utils.translation import gettext_lazy as _


class RecordingSettingsForm(forms.Form):
    recordings_enabled = forms.BooleanField(label=_("Hosts may record meetings"), required=False)
    recording_retention_days = forms.IntegerField(label=_("Keep recordings for (days)"), min_value=1)
    recording_consent_required = forms.BooleanField(
        label=_("Ask participants to confirm before joining a room that may be recorded"), required=False
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The operator's ceiling, read now (a changed setting applies without a restart).
        limit = settings.RECORDINGS_MAX_RETENTION_DAYS
        field = self.fields["recording_retention_days"]
        field.validators.append(MaxValueValidator(limit))
        field.widget.attrs["max"] = str(limit)
