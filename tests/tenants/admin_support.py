"""Rows of two tenants in every model the admin shows; the admin's forms as a browser submits them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html.parser import HTMLParser
from typing import Any
from zoneinfo import ZoneInfo

from django.apps import apps
from django.contrib import admin
from django.contrib.sessions.models import Session

from meetings import services as meeting_services
from meetings.models import LectureSeries, Room
from tenants import services
from tenants.models import HomeOrganization, Membership, Tenant, TenantHost, User
from tests.factories import MembershipFactory, UserFactory
from tests.meetings.helpers import make_series

# Strings found only in rows of the other tenant (ETH): none may reach a tenant admin of UZH.
OTHER_TENANT_MARKERS = ("ETH Zurich", "outsider", "ETH-only", "eth.example.org", "ethz")


@dataclass
class TenantRows:
    tenant: Tenant
    admin: User
    lecturer: User
    room: Room
    series: LectureSeries


def fill_tenant(tenant: Tenant, *, admin_user: User, label: str, domain: str) -> TenantRows:
    """Hosts, a home organisation, branding, a room, a series with a cancelled lecture,
    a personal feed and the audit rows of all that, through the services."""
    lecturer = MembershipFactory(
        tenant=tenant,
        role=Membership.Role.HOST,
        user=UserFactory(username=f"{label.lower()}-lecturer", email=f"lecturer@{domain}"),
    ).user
    # Made directly: the test must run against code without tenants.services.change_tenant.
    TenantHost.objects.create(tenant=tenant, host=f"portal.{tenant.slug}.example.org")
    HomeOrganization.objects.create(tenant=tenant, domain=domain)
    services.change_branding(actor=admin_user, tenant=tenant, changes={"welcome_text": f"{label} welcome"})
    room = meeting_services.create_room(actor=lecturer, tenant=tenant, title=f"{label} seminar")
    series = make_series(room, title=f"{label} lectures")
    meeting_services.cancel_occurrence(
        actor=lecturer,
        series=series,
        original_start=datetime(2026, 3, 2, 10, 15, tzinfo=ZoneInfo("Europe/Zurich")),
    )
    meeting_services.ensure_personal_feed(actor=lecturer, tenant=tenant)
    return TenantRows(tenant=tenant, admin=admin_user, lecturer=lecturer, room=room, series=series)


def registered_models() -> list[Any]:
    return [model for model in apps.get_models() if admin.site.is_registered(model)]


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every row of every table (sessions aside): compared before and after, it shows any change at all."""
    return {
        model._meta.label: list(model._default_manager.order_by("pk").values())
        for model in apps.get_models()
        if model is not Session
    }


class _FormReader(HTMLParser):
    """The fields of the form with id `form_id` as a browser submits them (no files, no submit buttons)."""

    def __init__(self, form_id: str) -> None:
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.inside = False
        self.data: dict[str, list[str]] = {}
        self._select: str | None = None
        self._multiple = False
        self._select_values: list[str] = []
        self._first_option: str | None = None
        self._textarea: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form" and a.get("id") == self.form_id:
            self.inside = True
        if not self.inside:
            return
        name = a.get("name", "")
        if tag == "input" and name:
            kind = a.get("type", "text")
            if kind in {"submit", "button", "file", "image", "reset"}:
                return
            if kind in {"checkbox", "radio"} and "checked" not in a:
                return
            self.data.setdefault(name, []).append(a.get("value", "on" if kind == "checkbox" else ""))
        elif tag == "select" and name:
            self._select, self._select_values, self._first_option = name, [], None
            self._multiple = "multiple" in a
        elif tag == "option" and self._select is not None:
            if self._first_option is None:
                self._first_option = a.get("value", "")
            if "selected" in a:
                self._select_values.append(a.get("value", ""))
        elif tag == "textarea" and name:
            self._textarea, self._text = name, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self.inside:
            self.inside = False
        elif tag == "select" and self._select is not None:
            values = self._select_values
            if not values and not self._multiple and self._first_option is not None:
                values = [self._first_option]
            if values:
                self.data[self._select] = values
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            self.data[self._textarea] = ["".join(self._text).removeprefix("\n")]
            self._textarea = None

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._text.append(data)


def form_data(html: str, form_id: str) -> dict[str, Any]:
    reader = _FormReader(form_id)
    reader.feed(html)
    assert reader.data, f"no form {form_id!r} on the page"
    return {k: v if len(v) > 1 else v[0] for k, v in reader.data.items()}
