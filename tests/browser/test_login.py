"""Signing in through the development IdP in Chromium, against a live server reached as http://localhost."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from tenants import key_files, saml_config
from tenants.models import Membership, User

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def dev_site(live_server: Any, settings: Any, tmp_path: Path) -> str:
    """The portal as `make run` serves it (development IdP, demo tenant seeded) at this live server."""
    url = live_server.url.replace("127.0.0.1", "localhost")
    assert url.startswith("http://localhost:"), url
    key_pem, cert_pem = key_files.self_signed_pair("browser-test SP")
    (tmp_path / "sp.key").write_bytes(key_pem)
    (tmp_path / "sp.crt").write_bytes(cert_pem)
    settings.PUBLIC_URL = url
    settings.SAML_ENTITY_ID = f"{url}/saml2/metadata/"
    settings.SAML_KEY_FILE = str(tmp_path / "sp.key")
    settings.SAML_CERT_FILE = str(tmp_path / "sp.crt")
    settings.SAML_METADATA_FILES = []
    settings.PORTAL_DEV_IDP = True
    settings.VAR_DIR = tmp_path / "var"  # the dev IdP makes its key pair here
    saml_config.clear_config_cache()
    call_command("seed_demo", stdout=io.StringIO())
    yield url
    saml_config.clear_config_cache()


def test_lecturer_signs_in_through_the_development_idp(
    dev_site: str, page: Any, transactional_db: Any
) -> None:
    from playwright.sync_api import expect

    page.goto(f"{dev_site}/demo/")
    expect(page.get_by_test_id("tenant-name")).to_have_text("Demo University")
    page.get_by_role("link", name="Sign in").click()
    page.wait_for_url(f"{dev_site}/dev-idp/sso/**")
    page.get_by_test_id("dev-idp-lecturer").click()

    page.wait_for_url(f"{dev_site}/demo/")
    expect(page.get_by_test_id("signed-in-as")).to_have_text("Lena Lecturer")
    expect(page.get_by_test_id("tenant-name")).to_have_text("Demo University")
    expect(page.get_by_test_id("membership")).to_contain_text("Host")

    lecturer = User.objects.get(display_name="Lena Lecturer")
    assert Membership.objects.get(user=lecturer).role == Membership.Role.HOST
    cookies = {cookie["name"]: cookie for cookie in page.context.cookies()}
    assert cookies["saml_session"]["secure"] is True
    assert cookies["saml_session"]["sameSite"] == "None"

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)
