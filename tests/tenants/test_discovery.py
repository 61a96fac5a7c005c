"""Choosing the IdP: our discovery page at /saml2/login/, `?tenant=` and `?idp=`, the remembered choice."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from django.test import Client

from tenants.identity_views import IDP_COOKIE
from tests.factories import TenantFactory
from tests.tenants import test_saml_signin as signin
from tests.tenants.discovery_world import EPFL_IDP, named_metadata
from tests.tenants.test_saml_signin import HUB_IDP, UZH_IDP, SamlWorld, start_login

saml_world = signin.saml_world
saml = signin.saml
uzh = signin.uzh
client = signin.client


@pytest.fixture
def named(saml: SamlWorld, settings: Any, tmp_path: Path, db: Any) -> SamlWorld:
    settings.SAML_METADATA_FILES = named_metadata(saml, tmp_path)
    return saml


def listed(response: Any) -> list[str]:
    """The entity IDs of the page's choices, in order."""
    body = response.content.decode()
    return [
        parse_qs(urlsplit(href.replace("&amp;", "&")).query)["idp"][0]
        for href in re.findall(r'<a href="([^"]+)" data-testid="idp-choice"', body)
    ]


def test_the_page_lists_the_idps_sorted_by_display_name(named: SamlWorld, client: Client) -> None:
    response = client.get("/saml2/login/", {"next": "/uzh/"})
    body = response.content.decode()
    assert response.status_code == 200, body[:2000]
    # "École ..." sorts with E: the English names are EPFL, SWITCH edu-ID, University of Zurich.
    assert listed(response) == [EPFL_IDP, HUB_IDP, UZH_IDP]
    assert "University of Zurich" in body and "idp.uzh.example.org" in body
    assert "next=%2Fuzh%2F" in body
    assert "<title>Choose your institution" in body


def test_names_follow_the_page_language(named: SamlWorld, client: Client) -> None:
    response = client.get("/saml2/login/", HTTP_ACCEPT_LANGUAGE="de")
    body = response.content.decode()
    assert "Universität Zürich" in body and "University of Zurich" not in body
    assert "SWITCH edu-ID" in body  # no German name: the English one
    french = client.get("/saml2/login/", HTTP_ACCEPT_LANGUAGE="fr")
    assert "École polytechnique fédérale de Lausanne" in french.content.decode()
    assert listed(french) == [EPFL_IDP, HUB_IDP, UZH_IDP]


def test_the_search_is_a_form_and_a_static_script(named: SamlWorld, client: Client) -> None:
    body = client.get("/saml2/login/").content.decode()
    assert re.search(r'<input type="search" id="idp-filter" name="q"', body)
    assert re.search(r'<script src="[^"]*js/idp-filter\.js" defer></script>', body)
    assert "<script>" not in body and " style=" not in body and "onclick" not in body
    # Every language's name is searchable, whatever the page's language.
    assert 'data-search="epfl ecole polytechnique federale de lausanne https://idp.epfl.example.org' in body


def test_the_search_works_without_javascript(named: SamlWorld, client: Client) -> None:
    response = client.get("/saml2/login/", {"q": "ecole", "next": "/uzh/"})
    assert listed(response) == [EPFL_IDP]
    assert 'value="ecole"' in response.content.decode()
    response = client.get("/saml2/login/", {"q": "zurich university"})
    assert listed(response) == [UZH_IDP]
    response = client.get("/saml2/login/", {"q": "nowhere"})
    body = response.content.decode()
    assert listed(response) == []
    assert 'data-testid="idp-none">' in body  # shown (not hidden)


def test_the_last_choice_is_remembered_and_offered_first(named: SamlWorld, uzh: Any, client: Client) -> None:
    start_login(client, named.uzh)
    cookie = client.cookies[IDP_COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/saml2/login/"
    response = client.get("/saml2/login/")
    assert listed(response) == [UZH_IDP, EPFL_IDP, HUB_IDP]
    body = response.content.decode()
    assert 'data-testid="idp-remembered"' in body and "Last used" in body
    # A remembered IdP that is no longer in the metadata is simply not offered.
    client.cookies[IDP_COOKIE] = "https%3A%2F%2Fgone.example.org%2Fidp"
    assert listed(client.get("/saml2/login/")) == [EPFL_IDP, HUB_IDP, UZH_IDP]


def test_a_tenant_with_one_idp_goes_straight_to_it(named: SamlWorld, uzh: Any, client: Client) -> None:
    response = client.get("/saml2/login/", {"tenant": "uzh", "next": "/uzh/"})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"].startswith("https://idp.uzh.example.org/sso?SAMLRequest=")
    assert named.uzh.read_request(response["Location"]).id
    assert client.cookies[IDP_COOKIE].value == "https%3A%2F%2Fidp.uzh.example.org%2Fidp%2Fshibboleth"


def test_the_tenant_pages_sign_in_link_names_the_tenant(named: SamlWorld, uzh: Any, client: Client) -> None:
    body = client.get("/uzh/").content.decode()
    assert 'href="/saml2/login/?next=/uzh/&amp;tenant=uzh" data-testid="sign-in"' in body


def test_a_tenant_with_several_idps_lists_only_those(named: SamlWorld, client: Client) -> None:
    TenantFactory(slug="epfl", name="EPFL", allowed_idps=[EPFL_IDP, HUB_IDP, "https://not.in.metadata/"])
    response = client.get("/saml2/login/", {"tenant": "epfl"})
    assert listed(response) == [EPFL_IDP, HUB_IDP]
    body = response.content.decode()
    assert 'name="tenant" value="epfl"' in body and 'data-testid="idp-all"' in body
    assert listed(client.get("/saml2/login/", {"tenant": "epfl", "q": "switch"})) == [HUB_IDP]


@pytest.mark.parametrize("slug", ["nosuchtenant", "a\x00b", "x" * 10_000, "../uzh", ""])
def test_an_unknown_or_malformed_tenant_is_ignored(named: SamlWorld, client: Client, slug: str) -> None:
    response = client.get("/saml2/login/", {"tenant": slug})
    assert response.status_code == 200
    assert listed(response) == [EPFL_IDP, HUB_IDP, UZH_IDP]


def test_an_inactive_tenant_is_ignored(named: SamlWorld, uzh: Any, client: Client) -> None:
    uzh.is_active = False
    uzh.save(update_fields=["is_active"])
    assert client.get("/saml2/login/", {"tenant": "uzh"}).status_code == 200


@pytest.mark.parametrize(
    ("idp", "status"),
    [
        ("https://idp.uzh.example.org/idp/shibboleth\x00", 400),
        ("\x00", 400),
        ("https://idp.example.org/" + "a" * 10_000, 400),
        ("https://idp.uzh.example.org/idp/shibboleth\n", 400),
        ("https://idp.nowhere.example.org/", 403),
        ("javascript:alert(1)", 403),
    ],
)
def test_hostile_idp_values_are_pages_not_errors(
    named: SamlWorld, client: Client, idp: str, status: int
) -> None:
    response = client.get("/saml2/login/", {"idp": idp, "next": "/"})
    body = response.content.decode()
    assert response.status_code == status, body[:500]
    assert "Unknown identity provider" in body and "Traceback" not in body
    assert len(body) < 20_000  # the value is not echoed back
    assert IDP_COOKIE not in response.cookies


def test_the_saml_discovery_service_is_used_when_configured(
    named: SamlWorld, uzh: Any, client: Client, settings: Any
) -> None:
    settings.SAML2_DISCO_URL = "https://wayf.example.org/WAYF"
    response = client.get("/saml2/login/", {"next": "/uzh/"})
    assert response.status_code == 302
    location = urlsplit(response["Location"])
    query = parse_qs(location.query)
    assert f"{location.scheme}://{location.netloc}{location.path}" == "https://wayf.example.org/WAYF"
    assert query["entityID"] == [signin.SP_ENTITY_ID] and query["returnIDParam"] == ["idp"]
    assert query["return"][0].startswith("http://testserver/saml2/login/?next=")
    # The service answers with idp=: the sign-in starts there.
    back = client.get("/saml2/login/", {"idp": UZH_IDP, "next": "/uzh/"})
    assert back.status_code == 302 and back["Location"].startswith("https://idp.uzh.example.org/sso")
    # A tenant with one IdP needs no discovery at all.
    straight = client.get("/saml2/login/", {"tenant": "uzh"})
    assert straight["Location"].startswith("https://idp.uzh.example.org/sso")
