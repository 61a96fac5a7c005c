"""Forms of the room and lecture pages. They validate; services change state.

The tenant is passed in by the view (from the request), never taken from the submitted data. Every form
takes portal.validators.TextRulesForm first: its text fields refuse control characters, and line breaks
unless they are a Textarea (titles are single-line)."""

from __future__ import annotations

import zoneinfo
from datetime import date, time
from typing import Any, cast

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from meetings import recurrence, services
from meetings.models import (
    DESCRIPTION_MAX_LENGTH,
    MAX_OCCURRENCES,
    NOTE_MAX_LENGTH,
    TITLE_MAX_LENGTH,
    AcademicPeriod,
    Room,
)
from meetings.recurrence import SERIES_YEARS, WEEKDAYS
from portal.validators import TextRulesForm
from tenants.models import Tenant, User


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%H:%M", **kwargs)


class RoomSettingsForm(TextRulesForm, forms.Form):
    title = forms.CharField(label=_("Title"), max_length=TITLE_MAX_LENGTH)
    description = forms.CharField(
        label=_("Description"),
        required=False,
        max_length=DESCRIPTION_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    access = forms.ChoiceField(
        label=_("Who may enter"),
        choices=Room.Access.choices,
        initial=Room.Access.TENANT,
        widget=forms.RadioSelect,
    )
    lobby = forms.BooleanField(label=_("Lobby: hosts admit participants"), required=False)
    allow_recording = forms.BooleanField(label=_("Allow recording"), required=False)
    allow_livestreaming = forms.BooleanField(label=_("Allow live streaming"), required=False)
    allow_participant_screen_sharing = forms.BooleanField(
        label=_("Participants may share their screen"), required=False, initial=True
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_title(self) -> str:
        title = self.cleaned_data["title"].strip()
        if not title:
            raise ValidationError(_("Give the room a title."))
        return title

    def settings(self) -> dict[str, Any]:
        return {f: self.cleaned_data[f] for f in services.ROOM_FIELDS}


class RoomCreateForm(RoomSettingsForm):
    public_name = forms.CharField(
        label=_("Public room name (optional)"),
        required=False,
        max_length=100,
        help_text=_(
            "Leave empty for an unguessable link. A public name (e.g. “office-hours-smith”) is easy to "
            "type but also easy to guess."
        ),
    )

    def clean_public_name(self) -> str:
        name = self.cleaned_data["public_name"].strip()
        if not name:
            return ""
        return services.check_public_name(self.tenant, name)


def access_code_field(label: Any, help_text: Any) -> forms.CharField:
    """The access-code field of the new-room and settings forms (the same rules, their own words)."""
    return forms.CharField(
        label=label,
        required=False,
        min_length=4,
        max_length=64,
        strip=True,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        help_text=help_text,
    )


class RoomCreateWithCodeForm(RoomCreateForm):
    """The new-room page: an access code can be set right away, and a weekly lecture series scheduled."""

    access_code = access_code_field(
        _("Access code (optional)"), _("Participants type it before they enter. Give it with the invitation.")
    )
    weekly = forms.BooleanField(label=_("Weekly lectures in this room"), required=False)


class RoomEditForm(RoomSettingsForm):
    access_code = access_code_field(
        _("New access code (optional)"),
        _("Participants must type it before they enter. Stored hashed: set a new one to change it."),
    )
    clear_access_code = forms.BooleanField(label=_("Remove the access code"), required=False)

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("access_code") and data.get("clear_access_code"):
            raise ValidationError(_("Either set a new access code or remove it, not both."))
        return data


class PersonForm(TextRulesForm, forms.Form):
    """A member of the tenant, named by e-mail address (co-hosts and invitees)."""

    email = forms.EmailField(label=_("E-mail address"))

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        self.person = services.member_by_email(self.tenant, email)
        return email


class TransferForm(TextRulesForm, forms.Form):
    email = forms.EmailField(label=_("E-mail address of the new owner"))
    keep_as_co_host = forms.BooleanField(label=_("Keep me as co-host"), required=False, initial=True)

    def __init__(self, *args: Any, room: Room, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.room = room

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        person: User = services.member_by_email(self.room.tenant, email, hosts_only=True)
        if person.pk == self.room.owner_id:
            raise ValidationError(_("You own this room already."))
        return email


class SeriesForm(TextRulesForm, forms.Form):
    title = forms.CharField(
        label=_("Title"), max_length=TITLE_MAX_LENGTH, required=False, help_text=_("Empty: the room's title.")
    )
    first_date = forms.DateField(label=_("First lecture"), widget=DateInput())
    start_time = forms.TimeField(label=_("Starts at"), widget=TimeInput())
    duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"),
        initial=90,
        min_value=5,
        max_value=600,
        error_messages={
            "min_value": _("A lecture lasts at least 5 minutes."),
            "max_value": _("A lecture lasts at most 600 minutes (10 hours)."),
        },
    )
    interval_weeks = forms.IntegerField(
        label=_("Every … weeks"),
        initial=1,
        min_value=1,
        max_value=52,
        help_text=_("1 = every week, 2 = every other week."),
    )
    weekdays = forms.TypedMultipleChoiceField(
        label=_("On"),
        choices=WEEKDAYS,
        coerce=int,
        required=False,
        # Laid out in a row (templates/_field.html puts the class on the fieldset).
        widget=forms.CheckboxSelectMultiple(attrs={"class": "inline-choices"}),
        help_text=_("None ticked: the weekday of the first lecture."),
    )
    until = forms.DateField(label=_("Until (last possible date)"), required=False, widget=DateInput())
    count = forms.IntegerField(
        label=_("Or: number of lectures"),
        required=False,
        min_value=1,
        max_value=MAX_OCCURRENCES,
        error_messages={
            "min_value": _("A series has at least one lecture."),
            "max_value": _("A series has at most %(limit_value)s lectures."),
        },
    )
    time_zone = forms.ChoiceField(
        label=_("Time zone"),
        # A text field with the zones as suggestions (a <datalist> the template adds): typing "Zur" finds
        # Europe/Zurich among ~600 zones, where a drop-down needs scrolling.
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off", "spellcheck": "false"}),
    )
    hold_on_holidays = forms.BooleanField(
        label=_("Hold lectures on the institution's holidays too"),
        required=False,
        help_text=_("Unticked, lectures on holidays and breaks of the academic calendar are cancelled."),
    )
    join_opens_minutes = forms.IntegerField(
        label=_("Room opens … minutes before the start"), initial=15, min_value=0, max_value=240
    )
    grace_minutes = forms.IntegerField(
        label=_("Room stays open … minutes after the end"), initial=15, min_value=0, max_value=240
    )

    def __init__(self, *args: Any, tenant: Tenant, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tenant = tenant
        time_zone = cast(forms.ChoiceField, self.fields["time_zone"])
        time_zone.choices = [(z, z) for z in sorted(zoneinfo.available_timezones())]
        self.fields["time_zone"].initial = tenant.time_zone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        until: date | None = data.get("until")
        count: int | None = data.get("count")
        first: date | None = data.get("first_date")
        if until is None and count is None and not self.has_error("count") and not self.has_error("until"):
            raise ValidationError(_("Give a last date or a number of lectures."))
        if until is not None and count is not None:
            raise ValidationError(_("Give either a last date or a number of lectures, not both."))
        if until is not None and first is not None and until < first:
            self.add_error("until", _("The last date must be on or after the first lecture."))
        for name in ("first_date", "until"):
            day: date | None = data.get(name)
            if day is not None and not SERIES_YEARS[0] <= day.year <= SERIES_YEARS[1]:
                self.add_error(
                    name,
                    _("Pick a date between the years %(first)d and %(last)d.")
                    % {"first": SERIES_YEARS[0], "last": SERIES_YEARS[1]},
                )
        return data

    def series_fields(self) -> dict[str, Any]:
        fields = {f: self.cleaned_data[f] for f in services.SERIES_FIELDS}
        fields["title"] = (fields["title"] or "").strip()
        fields["weekdays"] = sorted(set(fields["weekdays"] or []))
        fields["skip_holidays"] = not self.cleaned_data.get("hold_on_holidays")
        return fields


class MoveForm(TextRulesForm, forms.Form):
    new_date = forms.DateField(label=_("New date"), widget=DateInput())
    new_time = forms.TimeField(label=_("New start time"), widget=TimeInput())
    new_duration_minutes = forms.IntegerField(
        label=_("Duration (minutes)"), required=False, min_value=5, max_value=600
    )
    note = forms.CharField(label=_("Note for participants"), max_length=NOTE_MAX_LENGTH, required=False)

    def __init__(self, *args: Any, time_zone: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.time_zone = time_zone

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        day: date | None = data.get("new_date")
        at: time | None = data.get("new_time")
        if day and not SERIES_YEARS[0] <= day.year <= SERIES_YEARS[1]:
            self.add_error(
                "new_date",
                _("Pick a date between the years %(first)d and %(last)d.")
                % {"first": SERIES_YEARS[0], "last": SERIES_YEARS[1]},
            )
        elif day and at and not recurrence.exists_locally(day, at, recurrence.zone(self.time_zone)):
            self.add_error("new_time", _("That time does not exist on that day: the clocks change then."))
        return data


class CancelForm(TextRulesForm, forms.Form):
    note = forms.CharField(label=_("Note for participants"), max_length=NOTE_MAX_LENGTH, required=False)


class AcademicPeriodForm(TextRulesForm, forms.Form):
    """A semester or a holiday of the academic calendar (the console's calendar page)."""

    kind = forms.ChoiceField(
        label=_("Kind"), choices=AcademicPeriod.Kind.choices, initial=AcademicPeriod.Kind.HOLIDAY
    )
    title = forms.CharField(
        label=_("Name"), max_length=TITLE_MAX_LENGTH, help_text=_("E.g. “Christmas break”.")
    )
    first_day = forms.DateField(label=_("First day"), widget=DateInput())
    last_day = forms.DateField(label=_("Last day"), widget=DateInput())

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for name in ("first_day", "last_day"):
            day: date | None = data.get(name)
            if day is not None and not SERIES_YEARS[0] <= day.year <= SERIES_YEARS[1]:
                self.add_error(
                    name,
                    _("Pick a date between the years %(first)d and %(last)d.")
                    % {"first": SERIES_YEARS[0], "last": SERIES_YEARS[1]},
                )
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and last < first:
            self.add_error("last_day", _("The last day must be on or after the first day."))
        return data
