"""The development IdP (PORTAL_DEV_IDP=1) with seed_demo, driven through the Django test client."""

from __future__ import annotations

import html
import io
import re
import shutil
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from django.core.management import call_command
from django.test import Client

from tenants import saml_config
from tenants.dev_idp import idp as dev_idp
from tenants.models import ExternalIdentity, Membership, Tenant, User
from tests.conftest import require
from tests.saml_idp import key_pair

BASE = "http://testserver"


@pytest.fixture
def client() -> Client:
    """Like a browser: CSRF is enforced (the dev IdP's form carries a token, the ACS POST cannot)."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture(scope="session")
def dev_var(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One var/ for the module: the development IdP makes its key pair there once."""
    return tmp_path_factory.mktemp("dev-var")


@pytest.fixture
def dev(settings: Any, tmp_path: Path, dev_var: Path, db: Any) -> Any:
    require(shutil.which("xmlsec1") is not None, "xmlsec1 (Debian package xmlsec1)")
    key_pem, cert_pem = key_pair("sp")
    (tmp_path / "sp.key").write_bytes(key_pem)
    (tmp_path / "sp.crt").write_bytes(cert_pem)
    settings.PUBLIC_URL = BASE
    settings.SAML_ENTITY_ID = f"{BASE}/saml2/metadata/"
    settings.SAML_KEY_FILE = str(tmp_path / "sp.key")
    settings.SAML_CERT_FILE = str(tmp_path / "sp.crt")
    settings.SAML_METADATA_FILES = []
    settings.PORTAL_DEV_IDP = True
    settings.VAR_DIR = dev_var
    saml_config.clear_config_cache()
    call_command("seed_demo", stdout=io.StringIO())
    yield Tenant.objects.get(slug="demo")
    saml_config.clear_config_cache()


def path_of(url: str) -> str:
    parsed = urlparse(url)
    return f"{parsed.path}?{parsed.query}" if parsed.query else parsed.path


def form_fields(body: str) -> dict[str, str]:
    return {
        name: html.unescape(value)
        for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', body)
    }


def sign_in_as(client: Client, username: str, next_url: str = "/demo/") -> Any:
    """What the browser does: login -> dev IdP page -> choose a person -> auto-posted form -> ACS."""
    login = client.get("/saml2/login/", {"next": next_url})
    assert login.status_code == 302
    assert login["Location"].startswith(f"{BASE}/dev-idp/sso/?SAMLRequest=")
    page = client.get(path_of(login["Location"]))
    assert page.status_code == 200
    body = page.content.decode()
    for person in ("lecturer", "student", "admin"):
        assert f'data-testid="dev-idp-{person}"' in body
    chosen = client.post("/dev-idp/sso/", {**form_fields(body), "username": username})
    assert chosen.status_code == 200
    fields = form_fields(chosen.content.decode())
    assert f'action="{BASE}/saml2/acs/"' in chosen.content.decode()
    return client.post("/saml2/acs/", fields)


def test_lecturer_becomes_a_host_of_demo(dev: Tenant, client: Client) -> None:
    response = sign_in_as(client, "lecturer")
    assert response.status_code == 302 and response["Location"] == "/demo/"
    user = User.objects.get(display_name="Lena Lecturer")
    assert Membership.objects.get(user=user, tenant=dev).role == Membership.Role.HOST
    home = client.get("/demo/").content.decode()
    assert 'data-testid="signed-in-as">Lena Lecturer<' in home
    assert 'data-testid="tenant-name">Demo University<' in home


def test_student_becomes_a_member(dev: Tenant, client: Client) -> None:
    assert sign_in_as(client, "student").status_code == 302
    user = User.objects.get(display_name="Sam Student")
    assert Membership.objects.get(user=user).role == Membership.Role.MEMBER


def test_seeded_admin_keeps_the_assigned_admin_role(dev: Tenant, client: Client) -> None:
    seeded = ExternalIdentity.objects.get(kind="subject-id", value="admin@demo.example.org").user
    assert Membership.objects.get(user=seeded).source == Membership.Source.ASSIGNED
    assert sign_in_as(client, "admin").status_code == 302
    assert User.objects.filter(display_name="Ada Admin").get() == seeded
    membership = Membership.objects.get(user=seeded, tenant=dev)
    assert (membership.role, membership.source) == (Membership.Role.ADMIN, Membership.Source.ASSIGNED)


def test_seed_demo_is_repeatable_and_follows_public_url(dev: Tenant, settings: Any) -> None:
    call_command("seed_demo", stdout=io.StringIO())
    assert Tenant.objects.filter(slug="demo").count() == 1
    assert User.objects.count() == 1
    settings.PUBLIC_URL = "http://localhost:8000"
    saml_config.clear_config_cache()
    call_command("seed_demo", stdout=io.StringIO())
    dev.refresh_from_db()
    assert dev.allowed_idps == [f"{BASE}/dev-idp/metadata/", "http://localhost:8000/dev-idp/metadata/"]


def test_single_logout_through_the_development_idp(dev: Tenant, client: Client) -> None:
    assert sign_in_as(client, "lecturer").status_code == 302
    start = client.get("/saml2/logout/")
    assert start.status_code == 302
    assert start["Location"].startswith(f"{BASE}/dev-idp/slo/?SAMLRequest=")
    assert "Signature=" in start["Location"]  # the SP signs its LogoutRequest
    answer = client.get(path_of(start["Location"]))
    assert answer.status_code == 302, answer.content.decode()[:500]
    assert answer["Location"].startswith(f"{BASE}/saml2/ls/?SAMLResponse=")
    done = client.get(path_of(answer["Location"]))
    assert done.status_code == 302
    assert done["Location"] == "/"
    assert 'data-testid="signed-in-as"' not in client.get("/demo/").content.decode()


def test_dev_idp_metadata_publishes_its_scope(dev: Tenant, client: Client) -> None:
    body = client.get("/dev-idp/metadata/").content.decode()
    assert dev_idp.SCOPE in body and "Scope" in body
    assert f"{BASE}/dev-idp/sso/" in body


def test_dev_idp_rejects_bad_requests_with_a_clear_400(dev: Tenant, client: Client) -> None:
    assert client.get("/dev-idp/sso/").status_code == 400
    assert client.get("/dev-idp/sso/", {"SAMLRequest": "not-a-request"}).status_code == 400
    login = client.get("/saml2/login/", {"next": "/demo/"})
    body = client.get(path_of(login["Location"])).content.decode()
    response = client.post("/dev-idp/sso/", {**form_fields(body), "username": "mallory"})
    assert response.status_code == 400
    assert client.get("/dev-idp/slo/", {"SAMLRequest": "garbage"}).status_code == 400
    assert not User.objects.exclude(display_name="Ada Admin").exists()


def test_seeded_rooms_belong_to_who_signs_in_as_lecturer(dev: Any) -> None:
    """`make run`: the dev IdP's lecturer must find the seeded rooms after signing in."""
    from meetings.models import Room
    from tenants.dev_idp import idp as dev_idp
    from tenants.models import ExternalIdentity, Membership

    call_command("seed_demo_rooms", stdout=io.StringIO())
    call_command("seed_demo_rooms", stdout=io.StringIO())
    welcome = Room.objects.get(tenant__slug="demo", name="welcome")
    lecturer_key = dev_idp.USERS["lecturer"].attributes()["subject-id"][0]
    identity = ExternalIdentity.objects.get(issuer=dev_idp.entity_id(), value=lecturer_key)
    assert welcome.owner == identity.user
    assert Membership.objects.get(user=identity.user, tenant__slug="demo").may_host
    # Recording the person again (as every sign-in does) finds the same user.
    again, _membership = dev_idp.record_person("lecturer")
    assert again == identity.user
