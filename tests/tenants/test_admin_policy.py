"""The Django admin is for operators only: a tenant admin, staff and holding every permission, gets nothing.

Walks every URL of every registered ModelAdmin (and the site's own views) for rows of both tenants, GET and
POST, and checks that no answer shows a row and that no row changed."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.test import Client, RequestFactory
from django.urls import NoReverseMatch, reverse

from tenants.models import Membership, User
from tests.factories import UserFactory
from tests.tenants.admin_support import (
    OTHER_TENANT_MARKERS,
    fill_tenant,
    registered_models,
    snapshot,
)

PASSWORD = "correct horse battery staple 42"


@pytest.fixture
def two_tenants(tenant, other_tenant, admin_user, outsider):
    return (
        fill_tenant(tenant, admin_user=admin_user, label="UZH", domain="uzh.ch"),
        fill_tenant(other_tenant, admin_user=outsider, label="ETH-only", domain="ethz.ch"),
    )


def with_every_permission(user: User, *, staff: bool) -> User:
    user.is_staff = staff
    user.set_password(PASSWORD)
    user.save()
    user.user_permissions.set(Permission.objects.all())
    return User.objects.get(pk=user.pk)  # no cached permissions


def _value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "on" if value else ""
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def hostile_form(obj: models.Model, takeover: dict[str, Any]) -> dict[str, Any]:
    """The row's own field values with a hostile twist: what an attacker would post to its change form."""
    data: dict[str, Any] = {}
    for field in obj._meta.concrete_fields:
        if not field.editable or field.primary_key or isinstance(field, models.FileField):
            continue
        name = field.attname if field.is_relation else field.name
        data[field.name] = _value(getattr(obj, name))
    for field in obj._meta.many_to_many:
        data[field.name] = [str(o.pk) for o in getattr(obj, field.name).all()]
    for key in ("name", "title", "welcome_text", "first_name"):
        if key in data:
            data[key] = "Taken over"
    for prefix in ("hosts", "home_organizations", "series"):
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data.update(takeover)
    return data


def admin_urls(takeover: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, url, data) for every admin page: site views, then every model's pages for every row."""
    site = [
        reverse("admin:index"),
        reverse("admin:password_change"),
        reverse("admin:password_change_done"),
        reverse("admin:jsi18n"),
    ]
    calls: list[tuple[str, str, dict[str, Any]]] = [("GET", url, {}) for url in site]
    calls.append(
        (
            "POST",
            reverse("admin:password_change"),
            {
                "old_password": PASSWORD,
                "new_password1": "Taken-0ver-pass!",
                "new_password2": "Taken-0ver-pass!",
            },
        )
    )
    models_ = registered_models()
    for label in sorted({m._meta.app_label for m in models_}):
        calls.append(("GET", reverse("admin:app_list", kwargs={"app_label": label}), {}))
    deletes: list[tuple[str, str, dict[str, Any]]] = []
    for model in models_:
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        rows = list(model._default_manager.order_by("pk"))
        pks = [str(row.pk) for row in rows]
        changelist = reverse(f"{base}_changelist")
        for query in ("", "?q=eth", "?q=outsider", "?tenant__id__exact=1", "?all="):
            calls.append(("GET", changelist + query, {}))
        for action in ("delete_selected", "archive"):
            deletes.append(
                ("POST", changelist, {"action": action, "_selected_action": pks, "index": "0", "post": "yes"})
            )
        calls.append(("GET", reverse(f"{base}_add"), {}))
        if rows:
            calls.append(("POST", reverse(f"{base}_add"), hostile_form(rows[-1], takeover)))
        for field in [*opts.concrete_fields, *opts.many_to_many]:
            if field.is_relation:
                query = f"?app_label={opts.app_label}&model_name={opts.model_name}&field_name={field.name}"
                calls.append(("GET", reverse("admin:autocomplete") + query, {}))
                calls.append(("GET", reverse("admin:autocomplete") + query + "&term=eth", {}))
        content_type = ContentType.objects.get_for_model(model)
        for row in rows:
            calls += [
                ("GET", reverse(f"{base}_change", args=[row.pk]), {}),
                ("GET", reverse(f"{base}_history", args=[row.pk]), {}),
                ("GET", reverse(f"{base}_delete", args=[row.pk]), {}),
                ("GET", reverse("admin:view_on_site", args=[content_type.pk, row.pk]), {}),
                ("POST", reverse(f"{base}_change", args=[row.pk]), hostile_form(row, takeover)),
            ]
            try:
                calls.append(("GET", reverse(f"{base}_password_change", args=[row.pk]), {}))
                calls.append(
                    (
                        "POST",
                        reverse(f"{base}_password_change", args=[row.pk]),
                        {"password1": "Taken-0ver-pass!", "password2": "Taken-0ver-pass!"},
                    )
                )
            except NoReverseMatch:
                pass  # only the user admin has this page
            deletes.append(("POST", reverse(f"{base}_delete", args=[row.pk]), {"post": "yes"}))
    return calls + deletes


@pytest.mark.parametrize("staff", [True, False], ids=["staff", "not-staff"])
def test_a_tenant_admin_with_every_permission_gets_no_admin_page(client, two_tenants, staff):
    mine, theirs = two_tenants
    intruder = with_every_permission(mine.admin, staff=staff)
    client.force_login(intruder)
    takeover = {
        "user": str(intruder.pk),
        "tenant": str(theirs.tenant.pk),
        "role": Membership.Role.ADMIN,
        "is_superuser": "on",
        "is_staff": "on",
    }
    calls = admin_urls(takeover)
    assert len(calls) > 300  # every model, every row: the walk is not vacuous
    login = reverse("admin:login")
    before = snapshot()
    shown = []
    for method, url, data in calls:
        try:
            response = client.get(url) if method == "GET" else client.post(url, data)
        except Exception as error:  # a crash (500) is a failure too; the list names every page at once
            shown.append((method, url, 500, [repr(error)[:80]]))
            continue
        body = response.content.decode(errors="replace")
        leaked = [marker for marker in OTHER_TENANT_MARKERS if marker in body]
        ok = response.status_code in {403, 404, 405} or (
            response.status_code == 302 and response["Location"].startswith(login)
        )
        if leaked or not ok:
            shown.append((method, url, response.status_code, leaked))
    assert shown == []
    assert snapshot() == before
    assert not Membership.objects.filter(user=intruder, tenant=theirs.tenant).exists()


def test_adding_oneself_as_admin_of_another_tenant_is_refused(client, two_tenants):
    mine, theirs = two_tenants
    intruder = with_every_permission(mine.admin, staff=True)
    client.force_login(intruder)
    response = client.post(
        reverse("admin:tenants_membership_add"),
        {"user": intruder.pk, "tenant": theirs.tenant.pk, "role": "admin", "source": "assigned"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert not Membership.objects.filter(user=intruder, tenant=theirs.tenant).exists()
    intruder.refresh_from_db()
    assert not intruder.is_superuser


def test_the_sign_in_page_refuses_a_tenant_admin_and_points_to_the_console(two_tenants):
    mine, _theirs = two_tenants
    intruder = with_every_permission(mine.admin, staff=True)
    client = Client()
    response = client.post(reverse("admin:login"), {"username": intruder.username, "password": PASSWORD})
    assert response.status_code == 200
    page = response.content.decode()
    assert "This admin is for the portal&#x27;s operators only." in page
    assert "/&lt;institution&gt;/manage/" in page
    assert "_auth_user_id" not in client.session

    # Signed in elsewhere (SAML): the admin sends them to sign in, and that page links their console.
    client.force_login(intruder)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    page = client.get(response["Location"]).content.decode()
    assert 'href="/uzh/manage/"' in page and "University of Zurich" in page
    assert not any(marker in page for marker in OTHER_TENANT_MARKERS)
    assert "Institutions" not in page  # no app of the admin is named


def test_an_operator_signs_in_and_uses_the_admin(two_tenants):
    operator = UserFactory(username="operator", is_staff=True, is_superuser=True)
    operator.set_password(PASSWORD)
    operator.save()
    client = Client()
    response = client.post(
        reverse("admin:login"), {"username": "operator", "password": PASSWORD, "next": reverse("admin:index")}
    )
    assert response.status_code == 302 and response["Location"] == reverse("admin:index")
    page = client.get(reverse("admin:index")).content.decode()
    for model in registered_models():
        opts = model._meta
        assert reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist") in page


def test_an_inactive_superuser_gets_nothing(client, db):
    former = UserFactory(username="former", is_staff=True, is_superuser=True, is_active=False)
    former.set_password(PASSWORD)
    former.save()
    response = client.post(reverse("admin:login"), {"username": "former", "password": PASSWORD})
    assert response.status_code == 200 and "_auth_user_id" not in client.session
    request = RequestFactory().get("/admin/")
    request.user = former
    assert admin.site.has_permission(request) is False
