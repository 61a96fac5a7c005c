"""The form that creates a personal API token on the settings page."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.validators import TextRulesForm
from tenants.models import ApiToken

LIFETIMES = [(7, _("7 days")), (30, _("30 days")), (90, _("90 days")), (365, _("1 year"))]


class ApiTokenForm(TextRulesForm, forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What the token is for, e.g. “Moodle sync”.")
    )
    scopes = forms.MultipleChoiceField(
        label=_("Scopes"), widget=forms.CheckboxSelectMultiple, help_text=_("What the token may do.")
    )
    expires_in_days = forms.TypedChoiceField(label=_("Valid for"), choices=LIFETIMES, coerce=int, initial=90)

    def __init__(self, *args: Any, allowed_scopes: frozenset[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Only the scopes the person's role allows are offered (and accepted).
        self.fields["scopes"].choices = [  # type: ignore[attr-defined]  # a ChoiceField (Field has no choices)
            (value, label) for value, label in ApiToken.Scope.choices if value in allowed_scopes
        ]
