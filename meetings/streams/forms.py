from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from meetings.streams.models import RoomStream


class StreamSettingsForm(forms.Form):
    audience = forms.ChoiceField(
        label=_("Who may watch"), choices=RoomStream.Audience.choices, widget=forms.RadioSelect
    )
    offer_instead = forms.BooleanField(
        label=_("Offer the stream on the join page"),
        required=False,
        help_text=_("For large lectures: most people watch, only some join the meeting."),
    )
    offer_when_count = forms.IntegerField(
        label=_("Offer it once the meeting has this many people"),
        required=False,
        min_value=1,
        max_value=100_000,
        help_text=_("Leave empty to offer it only when you chose so above."),
    )
