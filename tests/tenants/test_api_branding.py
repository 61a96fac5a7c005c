"""Branding through the API: any member reads their institution's, admins change it through the console's
rules and change_branding (audit, cache), contrast warnings in the body, images never through the API."""

from __future__ import annotations

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image
from rest_framework.test import APIClient

from tenants import services
from tenants.branding import branding_for_pages
from tenants.models import AuditEntry, Branding
from tests.api_support import assert_error, bearer_client, session_client, token_for

URL = "/api/v1/branding/"


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def clients(tenant, other_tenant, host, member, admin_user, outsider):
    return {
        "anonymous": APIClient(),
        "no_scope": bearer_client(token_for(admin_user, tenant, scopes=["join"])),
        "member": bearer_client(token_for(member, tenant)),
        "host": bearer_client(token_for(host, tenant)),
        "admin": bearer_client(token_for(admin_user, tenant)),
        "outsider": bearer_client(token_for(outsider, other_tenant)),
    }


@pytest.fixture
def branded(tenant, admin_user):
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), "red").save(buffer, "PNG")
    logo = SimpleUploadedFile("logo.png", buffer.getvalue(), content_type="image/png")
    return services.change_branding(
        actor=admin_user,
        tenant=tenant,
        changes={"primary_colour": "#8a1538", "welcome_text": "Hello **UZH**", "logo": logo},
    )


def test_anonymous_gets_401(branded, clients):
    assert_error(clients["anonymous"].get(URL), 401, "not_authenticated")
    assert_error(clients["anonymous"].patch(URL, {"primary_colour": "#000000"}, format="json"), 401)


@pytest.mark.parametrize("actor", ["no_scope", "member", "host", "admin"])
def test_any_member_reads_the_branding_with_absolute_urls(branded, clients, actor):
    body = clients[actor].get(URL).json()
    assert body["primary_colour"] == "#8a1538" and body["background_colour"] == "#f6f7f9"
    assert body["welcome_text"] == "Hello **UZH**" and "<strong>UZH</strong>" in body["welcome_html"]
    assert body["logo_url"].startswith(("http://", "https://")) and body["logo_url"].endswith(".png")
    assert body["background_image_url"] is None and body["default_language"] == "en"


def test_outsider_sees_only_their_own_institution(branded, clients, outsider):
    body = clients["outsider"].get(URL).json()
    assert (body["primary_colour"], body["logo_url"], body["welcome_text"]) == ("#1f5fa8", None, "")
    assert not Branding.objects.filter(tenant__slug="eth").exists()  # reading writes nothing
    session = session_client(outsider)
    assert_error(session.get(URL, HTTP_X_TENANT="uzh"), 404, "tenant_not_found")
    assert_error(session.patch(URL, {"primary_colour": "#000000"}, format="json", HTTP_X_TENANT="uzh"), 404)
    response = clients["outsider"].patch(URL, {"primary_colour": "#000000"}, format="json")
    assert response.status_code == 200  # their own institution's branding
    assert Branding.objects.get(tenant__slug="uzh").primary_colour == "#8a1538"


@pytest.mark.parametrize("actor", ["no_scope", "member", "host"])
def test_only_admins_with_the_admin_scope_change_it(branded, clients, actor):
    assert_error(
        clients[actor].patch(URL, {"primary_colour": "#000000"}, format="json"), 403, "missing_scope"
    )
    assert Branding.objects.get().primary_colour == "#8a1538"


def test_admin_changes_colours_gets_warnings_and_the_audit_row(
    branded, clients, tenant, admin_user, django_capture_on_commit_callbacks
):
    assert branding_for_pages(tenant)["primary"] == "#8a1538"  # cached for pages
    with django_capture_on_commit_callbacks(execute=True):
        response = clients["admin"].patch(
            URL, {"primary_colour": "#FFFF00", "support_url": "https://help.uzh.ch/"}, format="json"
        )
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["primary_colour"] == "#ffff00" and body["support_url"] == "https://help.uzh.ch/"
    assert len(body["warnings"]) == 1 and "below WCAG AA" in body["warnings"][0]
    assert body["logo_url"]  # images untouched
    entry = AuditEntry.objects.filter(action="branding.changed").latest("pk")
    assert (entry.actor, entry.data["fields"]) == (admin_user, ["primary_colour", "support_url"])
    assert branding_for_pages(tenant)["primary"] == "#ffff00"  # the cache was forgotten on commit
    # Nothing changed: no new version, no audit row, no warnings for good colours.
    again = clients["admin"].patch(URL, {"primary_colour": "#1f5fa8"}, format="json").json()
    assert again["warnings"] == [] and again["version"] == body["version"] + 1
    same = clients["admin"].patch(URL, {"primary_colour": "#1f5fa8"}, format="json").json()
    assert same["version"] == again["version"]
    assert AuditEntry.objects.filter(action="branding.changed").count() == 3


def test_first_change_creates_the_branding(clients, tenant):
    response = clients["admin"].patch(URL, {"default_language": "de"}, format="json")
    assert response.status_code == 200 and response.json()["default_language"] == "de"
    assert Branding.objects.get(tenant=tenant).default_language == "de"


def test_images_and_read_only_fields_are_ignored(branded, clients, tenant):
    logo = branded.logo.name
    response = clients["admin"].patch(
        URL,
        {
            "logo": "",
            "background_image": "x.png",
            "logo_url": "https://evil.example/x.png",
            "version": 99,
            "tenant": 12345,
            "welcome_text": "Hi",
        },
        format="json",
    )
    assert response.status_code == 200, response.content
    branding = Branding.objects.get(tenant=tenant)
    assert (branding.logo.name, branding.background_image.name, branding.welcome_text) == (logo, "", "Hi")
    assert branding.version == branded.version + 1


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"primary_colour": "red"}, "primary_colour", "Use a colour like #1f5fa8."),
        ({"background_colour": "#12345"}, "background_colour", "Use a colour like #1f5fa8."),
        ({"support_url": "http://help.example.org"}, "support_url", "Use an https:// address."),
        ({"support_url": "not a url at all"}, "support_url", "valid URL"),
        ({"default_language": "xx"}, "default_language", "not a valid choice"),
        ({"welcome_text": "x" * 5001}, "welcome_text", "5000"),
        ({"primary_colour": 12}, "primary_colour", "colour"),
        ({"welcome_text": None}, "welcome_text", "null"),
    ],
)
def test_bad_branding_names_the_field_and_changes_nothing(branded, clients, payload, field, message):
    error = assert_error(clients["admin"].patch(URL, payload, format="json"), 400, "invalid")
    assert message in " ".join(error["fields"][field]), error
    assert Branding.objects.get().version == branded.version


def test_branding_read_query_count_is_pinned(branded, clients, django_assert_num_queries):
    clients["member"].get(URL)
    # token, membership, branding
    with django_assert_num_queries(3):
        assert clients["member"].get(URL).status_code == 200
