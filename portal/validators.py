"""One rule for every piece of text the portal accepts: no control characters.

NUL cannot be stored in PostgreSQL, lone surrogates cannot be encoded as UTF-8, and C0/C1 controls break
what we write out (iCalendar feeds, Jitsi tokens, CSV). So every text input refuses them with one human
message: page forms (`TextRulesForm`), API serializers (`TextRulesSerializer`), query parameters
(`refuse_control_characters`) and Prosody's events (meetings/events.py). Single-line text (titles, names)
also refuses line breaks and tabs; multi-line text (a form's Textarea, a serializer field styled as a
textarea) keeps tab, LF and CR, which browsers send as line ends.

Output is the other half: `sanitise` makes stored text fit for a single- or multi-line context, so that
a row written before this rule (or by hand) cannot make a page or feed fail.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import ProhibitNullCharactersValidator
from django.utils.deconstruct import deconstructible
from django.utils.translation import gettext_lazy as _
from rest_framework import serializers
from rest_framework.validators import ProhibitSurrogateCharactersValidator

# C0 except tab, LF, CR; DEL and C1; UTF-16 surrogates (only ever lone ones in a Python str).
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff"
# What a single line may not hold on top: tab, LF, CR and Unicode's line and paragraph separators.
_BREAKS = "\t\n\r\u2028\u2029"
_MULTI_LINE = re.compile(f"[{_CONTROL}]")
_SINGLE_LINE = re.compile(f"[{_CONTROL}{_BREAKS}]")

CONTROL_MESSAGE = _("This field contains characters that are not allowed.")
SINGLE_LINE_MESSAGE = _("This field must be a single line.")


@deconstructible
class TextRule:
    """Validator: refuses control characters; unless `multiline`, line breaks and tabs too."""

    def __init__(self, *, multiline: bool = False) -> None:
        self.multiline = multiline

    def __call__(self, value: Any) -> None:
        text = str(value)
        if _MULTI_LINE.search(text):
            raise ValidationError(CONTROL_MESSAGE, code="control_characters")
        if not self.multiline and _SINGLE_LINE.search(text):
            raise ValidationError(SINGLE_LINE_MESSAGE, code="single_line")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, TextRule) and other.multiline == self.multiline

    def __hash__(self) -> int:
        return hash((TextRule, self.multiline))


def refuse_control_characters(value: str) -> None:
    """For a query parameter or header: raises ValidationError (CONTROL_MESSAGE) for control characters
    and line breaks (never part of an identifier)."""
    if _SINGLE_LINE.search(value):
        raise ValidationError(CONTROL_MESSAGE, code="control_characters")


def sanitise(value: str, *, multiline: bool = False) -> str:
    """Stored text made safe to write out: line breaks become spaces (unless `multiline`, where LF stays and
    CR LF becomes LF), other control characters and lone surrogates are dropped."""
    if multiline:
        return _MULTI_LINE.sub("", value.replace("\r\n", "\n").replace("\r", "\n"))
    return _MULTI_LINE.sub("", re.sub(f"[{_BREAKS}]+", " ", value)).strip()


# Django's and DRF's own partial checks (NUL; surrogates), replaced so a field gives one message.
_SUPERSEDED = (ProhibitNullCharactersValidator, ProhibitSurrogateCharactersValidator, TextRule)


def _with_rule(validators: list[Any], *, multiline: bool) -> list[Any]:
    kept = [v for v in validators if not isinstance(v, _SUPERSEDED)]
    return [TextRule(multiline=multiline), *kept]


class TextRulesForm:
    """Mixin for every form (before forms.Form / forms.ModelForm): each text field refuses control
    characters, and line breaks unless its widget is a Textarea."""

    fields: dict[str, forms.Field]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                multiline = isinstance(field.widget, forms.Textarea)
                # Form fields are deep copies per form instance: this changes no other form.
                field.validators = _with_rule(field.validators, multiline=multiline)


def _is_multiline(field: serializers.Field[Any, Any, Any, Any]) -> bool:
    return field.style.get("base_template") == "textarea.html"


def _apply_to_serializer_field(field: Any) -> None:
    if getattr(field, "read_only", False):
        return
    if isinstance(field, serializers.CharField):
        field.validators = _with_rule(list(field.validators), multiline=_is_multiline(field))
    elif isinstance(field, serializers.ListField | serializers.DictField):
        _apply_to_serializer_field(field.child)


class TextRulesSerializer:
    """Mixin for every serializer that takes input (before serializers.Serializer / ModelSerializer):
    each writable text field (lists' and dicts' items included) refuses control characters, and line
    breaks unless it is styled as a textarea (`style={"base_template": "textarea.html"}`, which
    ModelSerializer gives a model's TextField)."""

    def get_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = super().get_fields()  # type: ignore[misc]  # a mixin: the serializer's
        for field in fields.values():
            _apply_to_serializer_field(field)
        return fields


MULTILINE_STYLE = {"base_template": "textarea.html"}
