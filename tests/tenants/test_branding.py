"""Branding: uploads and text are checked, portal pages are branded, Jitsi gets its document."""

from __future__ import annotations

import io
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from tenants.branding import contrast_ratio, render_welcome
from tenants.models import AuditEntry, Branding

pytestmark = pytest.mark.django_db

VALID = {
    "primary_colour": "#1f5fa8",
    "background_colour": "#f6f7f9",
    "welcome_text": "",
    "support_url": "",
    "default_language": "en",
}


def png(size=(40, 20), colour="red", fmt="PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, fmt)
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    return client


def test_contrast_ratio_matches_wcag():
    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21)
    assert contrast_ratio("#ffffff", "#ffffff") == pytest.approx(1)
    assert contrast_ratio("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


def test_saving_branding_applies_it_to_pages_and_audits(admin_client, client, tenant):
    logo = SimpleUploadedFile("logo.png", png(), content_type="image/png")
    data = {**VALID, "primary_colour": "#8a1538", "welcome_text": "Welcome to **UZH**", "logo": logo}
    response = admin_client.post("/uzh/manage/branding/", data)
    assert response.status_code == 302
    branding = Branding.objects.get(tenant=tenant)
    assert branding.primary_colour == "#8a1538"
    assert branding.logo.name.startswith("branding/uzh/") and branding.logo.name.endswith(".png")
    entry = AuditEntry.objects.get(action="branding.changed")
    assert "primary_colour" in entry.data["fields"] and "logo" in entry.data["fields"]
    page = client.get("/uzh/").content.decode()
    assert f'href="/uzh/branding.css?v={branding.version}"' in page
    assert "--primary: #8a1538" in client.get("/uzh/branding.css").content.decode()
    assert "<strong>UZH</strong>" in page
    assert branding.logo.url in page
    served = client.get(branding.logo.url)
    assert served.status_code == 200
    assert b"".join(served.streaming_content) == branding.logo.read()
    served.close()
    branding.logo.close()


def test_low_contrast_warns_but_saves(admin_client, tenant):
    response = admin_client.post("/uzh/manage/branding/", {**VALID, "primary_colour": "#ffff00"}, follow=True)
    assert "below WCAG AA" in response.content.decode()
    assert Branding.objects.get(tenant=tenant).primary_colour == "#ffff00"


HOSTILE_SVG = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script><image href="https://evil.example/x"/></svg>'


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("logo.svg", HOSTILE_SVG, "SVG images are not accepted"),
        ("logo.png", HOSTILE_SVG, "SVG images are not accepted"),
        ("logo.png", b"MZ\x90\x00 this is an executable", "not an image we can read"),
        ("logo.gif", png(fmt="GIF"), "Only PNG, JPEG and WebP"),
        ("logo.png", png(size=(5000, 5000)), "larger than 4096 by 4096"),
        ("logo.png", b"\x89PNG" + b"0" * (3 * 1024 * 1024), "larger than 2 MB"),
    ],
)
def test_bad_uploads_are_refused_and_nothing_is_saved(admin_client, tenant, name, content, message):
    upload = SimpleUploadedFile(name, content)
    response = admin_client.post(
        "/uzh/manage/branding/", {**VALID, "primary_colour": "#000000", "logo": upload}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Branding.objects.filter(tenant=tenant).exists()
    assert not AuditEntry.objects.filter(action="branding.changed").exists()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("primary_colour", "red;}/*", "Use a colour like #1f5fa8."),
        ("primary_colour", "#1f5fa8; } body { display: none", "at most 7 characters"),
        ("support_url", "javascript:alert(1)", "Enter a valid URL."),
        ("support_url", "http://help.example.org", "Use an https:// address."),
        ("default_language", "xx", "Select a valid choice."),
    ],
)
def test_bad_fields_are_refused(admin_client, tenant, field, value, message):
    response = admin_client.post("/uzh/manage/branding/", {**VALID, field: value})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Branding.objects.filter(tenant=tenant).exists()


def test_welcome_text_is_sanitised():
    html = render_welcome(
        "Hi <script>alert(1)</script> [x](javascript:alert(2)) <img src=x onerror=alert(3)> "
        '<a href="https://uzh.ch" onclick="evil()">UZH</a> *ok*'
    )
    assert "<script" not in html and "onerror" not in html and "onclick" not in html
    assert "javascript:" not in html and "<img" not in html
    assert '<a href="https://uzh.ch" rel="noopener noreferrer nofollow">UZH</a>' in html
    assert "<em>ok</em>" in html


def test_jitsi_document_has_only_jitsi_keys_and_absolute_urls(client, admin_client, tenant, settings):
    settings.PUBLIC_URL = "https://portal.example.org"
    logo = SimpleUploadedFile("logo.png", png(), content_type="image/png")
    background = SimpleUploadedFile("bg.webp", png(fmt="WEBP"), content_type="image/webp")
    admin_client.post(
        "/uzh/manage/branding/",
        {
            **VALID,
            "background_colour": "#101820",
            "logo": logo,
            "background_image": background,
            "support_url": "https://help.uzh.ch",
        },
    )
    response = client.get("/jitsi/uzh/branding.json", {"conferenceFqn": "uzh/room-1"})
    assert response.status_code == 200
    document = json.loads(response.content)
    assert set(document) == {
        "backgroundColor",
        "backgroundImageUrl",
        "logoImageUrl",
        "logoClickUrl",
        "supportUrl",
    }
    assert document["backgroundColor"] == "#101820"
    for key in ("backgroundImageUrl", "logoImageUrl", "logoClickUrl"):
        assert document[key].startswith("https://portal.example.org/")
    assert response["Access-Control-Allow-Origin"] == "https://meet.uzh.example.org"
    assert "Origin" in response["Vary"]
    assert "max-age" in response["Cache-Control"]


def test_branding_document_is_cached_and_answers_304(client, tenant, django_assert_num_queries):
    first = client.get("/jitsi/uzh/branding.json")
    etag = first["ETag"]
    with django_assert_num_queries(0):
        again = client.get("/jitsi/uzh/branding.json", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again["ETag"] == etag
    assert client.get("/jitsi/uzh/branding.json", HTTP_IF_NONE_MATCH='"stale"').status_code == 200


def test_branding_change_invalidates_document(
    client, admin_client, tenant, django_capture_on_commit_callbacks
):
    etag = client.get("/jitsi/uzh/branding.json")["ETag"]
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post("/uzh/manage/branding/", {**VALID, "background_colour": "#000000"})
    response = client.get("/jitsi/uzh/branding.json", HTTP_IF_NONE_MATCH=etag)
    assert response.status_code == 200
    assert json.loads(response.content)["backgroundColor"] == "#000000"


def test_unknown_deployment_is_404(client, tenant):
    assert client.get("/jitsi/nowhere/branding.json").status_code == 404
    assert client.post("/jitsi/uzh/branding.json").status_code == 405
