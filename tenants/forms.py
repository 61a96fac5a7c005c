"""Forms of the institution admin console."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from portal.validators import TextRulesForm
from tenants.branding import ImageRefused, PreparedImage, prepare_image
from tenants.models import Branding, Membership

IMAGE_TYPES = "image/png,image/jpeg,image/webp"


class BrandingForm(TextRulesForm, forms.ModelForm):
    remove_logo = forms.BooleanField(label=_("Remove the logo"), required=False)
    remove_background_image = forms.BooleanField(label=_("Remove the background image"), required=False)
    # Plain file fields, so that our own check (format, size, no SVG) gives the message, not a generic one.
    # A plain FileInput, not ClearableFileInput: the page shows the current image as a thumbnail, and the
    # remove_* check boxes above are the one way to remove it (ClearableFileInput adds a second one).
    logo = forms.FileField(
        label=_("Logo"), required=False, widget=forms.FileInput(attrs={"accept": IMAGE_TYPES})
    )
    background_image = forms.FileField(
        label=_("Background image"),
        required=False,
        widget=forms.FileInput(attrs={"accept": IMAGE_TYPES}),
    )
    support_url = forms.URLField(
        label=_("Support page"), required=False, assume_scheme="https", max_length=200
    )

    class Meta:
        model = Branding
        fields = [
            "logo",
            "background_image",
            "primary_colour",
            "background_colour",
            "welcome_text",
            "support_url",
            "default_language",
        ]
        widgets = {
            "primary_colour": forms.TextInput(attrs={"type": "color"}),
            "background_colour": forms.TextInput(attrs={"type": "color"}),
            "welcome_text": forms.Textarea(attrs={"rows": 5}),
        }

    IMAGES = ("logo", "background_image")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The stored images as they were before this request: validation puts an unsaved upload on the
        # instance, and the page must show what is saved.
        self.saved_images = {name: getattr(self.instance, name) or None for name in self.IMAGES}

    def image_fields(self) -> list[tuple[forms.BoundField, forms.BoundField, Any]]:
        """(upload field, its remove check box, the saved image or None) for the page's image fieldsets."""
        return [(self[name], self[f"remove_{name}"], self.saved_images[name]) for name in self.IMAGES]

    def other_fields(self) -> list[forms.BoundField]:
        images = {*self.IMAGES, *(f"remove_{name}" for name in self.IMAGES)}
        return [field for field in self if field.name not in images]

    def _clean_image(self, field: str) -> Any:
        # The upload is checked and re-encoded here (tenants.branding.prepare_image, the one gate for
        # every branding image): what the form hands on is the re-encoded image, never the client's file.
        upload = self.cleaned_data.get(field)
        if isinstance(upload, UploadedFile):
            try:
                return prepare_image(upload)
            except ImageRefused as exc:
                raise forms.ValidationError(str(exc)) from exc
        return upload

    def clean_logo(self) -> Any:
        return self._clean_image("logo")

    def clean_background_image(self) -> Any:
        return self._clean_image("background_image")

    def clean_support_url(self) -> str:
        url: str = self.cleaned_data.get("support_url", "")
        if url and not url.startswith("https://"):
            raise forms.ValidationError(_("Use an https:// address."))
        return url

    def clean_primary_colour(self) -> str:
        return str(self.cleaned_data["primary_colour"]).lower()

    def clean_background_colour(self) -> str:
        return str(self.cleaned_data["background_colour"]).lower()

    def changes(self) -> dict[str, Any]:
        """The changed values, for tenants.services.change_branding (images only when a new one came)."""
        data = {name: self.cleaned_data[name] for name in self.Meta.fields if name in self.changed_data}
        for image in ("logo", "background_image"):
            if self.cleaned_data.get(f"remove_{image}"):
                data[image] = ""
            elif image in data and not isinstance(data[image], PreparedImage):
                data.pop(image)
        return data


class MemberRoleForm(TextRulesForm, forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Membership.Role.choices)


class MemberSearchForm(TextRulesForm, forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    role = forms.ChoiceField(
        label=_("Role"), required=False, choices=[("", _("Any role")), *Membership.Role.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"),
        required=False,
        choices=[("", _("Anyone")), ("active", _("Not blocked")), ("blocked", _("Blocked"))],
    )


class AuditFilterForm(TextRulesForm, forms.Form):
    """The audit log's filters; the actor list holds the tenant's members who appear in its log."""

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    actor = forms.ChoiceField(label=_("Who"), required=False)
    action = forms.ChoiceField(label=_("What"), required=False)
    first = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(
        self, *args: Any, actors: list[tuple[str, str]], actions: list[tuple[str, str]], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        for name, choices in (
            ("actor", [("", _("Anyone")), *actors]),
            ("action", [("", _("Any change")), *actions]),
        ):
            field = self.fields[name]
            assert isinstance(field, forms.ChoiceField)
            field.choices = choices

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last")
        if first and last and last < first:
            raise forms.ValidationError(_("The period ends before it starts."))
        for day in (first, last):
            if day and not 2000 <= day.year <= 2999:
                raise forms.ValidationError(_("Choose dates between the years 2000 and 2999."))
        return data


class PeriodForm(TextRulesForm, forms.Form):
    """A period of local days for the usage statistics (at most a year)."""

    first = forms.DateField(label=_("From"), widget=forms.DateInput(attrs={"type": "date"}))
    last = forms.DateField(label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        first, last = data.get("first"), data.get("last")
        if first and last:
            if last < first:
                raise forms.ValidationError(_("The period ends before it starts."))
            if (last - first).days >= 366:
                raise forms.ValidationError(_("Choose a period of at most a year."))
            if first.year < 2000 or last.year > 2999:
                raise forms.ValidationError(_("Choose dates between the years 2000 and 2999."))
        return data
