"""SAML sign-in end to end: a pysaml2 IdP signs (and encrypts) real responses, posted to the real ACS."""

from __future__ import annotations

import datetime as dt
import logging
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from django.test import Client, override_settings
from saml2.xmldsig import DIGEST_SHA1, SIG_RSA_SHA1

from tenants import saml_config, services
from tenants.models import ExternalIdentity, HomeOrganization, Membership, User
from tests.conftest import require
from tests.factories import TenantFactory
from tests.saml_idp import TestIdP, encode, first_assertion, key_pair

BASE = "http://testserver"
SP_ENTITY_ID = f"{BASE}/saml2/metadata/"
UZH_IDP = "https://idp.uzh.example.org/idp/shibboleth"
HUB_IDP = "https://eduid.example.org/idp/shibboleth"


@dataclass
class SamlWorld:
    uzh: TestIdP  # trusted, scope uzh.ch, allowed by tenant uzh
    hub: TestIdP  # trusted (edu-ID-like), scopes uzh.ch eth.ch epfl.ch, allowed by no tenant of uzh.ch
    impostor: TestIdP  # uzh's entity ID and SSO URL, but a key that is not in the metadata
    stranger: TestIdP  # not in the metadata at all
    overrides: dict[str, Any]


@pytest.fixture(scope="session")
def saml_world(tmp_path_factory: pytest.TempPathFactory) -> SamlWorld:
    require(shutil.which("xmlsec1") is not None, "xmlsec1 (Debian package xmlsec1)")
    work = tmp_path_factory.mktemp("saml")
    uzh = TestIdP(
        entity_id=UZH_IDP,
        sso_url="https://idp.uzh.example.org/sso",
        scopes=["uzh.ch"],
        key_name="uzh",
        workdir=work,
    )
    hub = TestIdP(
        entity_id=HUB_IDP,
        sso_url="https://eduid.example.org/sso",
        scopes=["uzh.ch", "eth.ch", "epfl.ch"],
        key_name="hub",
        workdir=work,
    )
    impostor = TestIdP(
        entity_id=UZH_IDP,
        sso_url="https://idp.uzh.example.org/sso",
        scopes=["uzh.ch"],
        key_name="rogue",
        workdir=work,
    )
    stranger = TestIdP(
        entity_id="https://idp.stranger.example.org/idp/shibboleth",
        sso_url="https://idp.uzh.example.org/sso",
        scopes=["uzh.ch"],
        key_name="stranger",
        workdir=work,
    )
    # 1. IdP metadata (only the trusted ones reach the SP).
    metadata_files = []
    for idp in (uzh, hub):
        path: Path = work / f"{idp.scopes[0]}-{len(metadata_files)}.xml"
        path.write_text(idp.metadata_xml())
        metadata_files.append(str(path))
    sp_key, sp_cert = work / "sp.key", work / "sp.crt"
    key_pem, cert_pem = key_pair("sp")
    sp_key.write_bytes(key_pem)
    sp_cert.write_bytes(cert_pem)
    overrides = {
        "PUBLIC_URL": BASE,
        "SAML_ENTITY_ID": SP_ENTITY_ID,
        "SAML_KEY_FILE": str(sp_key),
        "SAML_CERT_FILE": str(sp_cert),
        "SAML_METADATA_FILES": metadata_files,
        "PORTAL_DEV_IDP": False,
    }
    # 2. SP metadata from the real configuration; 3. every IdP loads it.
    with override_settings(**overrides):
        sp_metadata = saml_config.sp_metadata_xml()
    for idp in (uzh, hub, impostor, stranger):
        idp.load_sp(sp_metadata)
    return SamlWorld(uzh=uzh, hub=hub, impostor=impostor, stranger=stranger, overrides=overrides)


@pytest.fixture(params=["inprocess", "xmlsec1"])
def saml(saml_world: SamlWorld, settings: Any, request: pytest.FixtureRequest) -> SamlWorld:
    for name, value in saml_world.overrides.items():
        setattr(settings, name, value)
    settings.SAML_CRYPTO = request.param  # every test with both backends (portal/adapters/pysaml2.py)
    # No cache clearing: the cached SP configuration follows the settings it was built from.
    yield saml_world


@pytest.fixture
def client() -> Client:
    """Like a browser: CSRF is enforced, so the ACS must accept the IdP's token-less cross-site POST."""
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def uzh(db: Any) -> Any:
    tenant = TenantFactory(slug="uzh", name="University of Zurich", allowed_idps=[UZH_IDP])
    HomeOrganization.objects.create(tenant=tenant, domain="uzh.ch")
    eth = TenantFactory(slug="eth", name="ETH Zurich", allowed_idps=["https://idp.eth.example.org/idp"])
    HomeOrganization.objects.create(tenant=eth, domain="eth.ch")
    return tenant


def lecturer(**changes: list[str]) -> dict[str, list[str]]:
    attributes = {
        "subject-id": ["8f3a2c@uzh.ch"],
        "swissEduPersonUniqueID": ["776655@uzh.ch"],
        "eduPersonPrincipalName": ["lena@uzh.ch"],
        "swissEduPersonHomeOrganization": ["uzh.ch"],
        "eduPersonAffiliation": ["faculty", "member"],
        "eduPersonScopedAffiliation": ["faculty@uzh.ch", "member@uzh.ch"],
        "givenName": ["Lena"],
        "sn": ["Lehrer"],
        "displayName": ["Lena Lehrer"],
        "mail": ["lena.lehrer@uzh.ch"],
        "preferredLanguage": ["de"],
    }
    attributes.update(changes)
    return {name: value for name, value in attributes.items() if value}


def student(**changes: list[str]) -> dict[str, list[str]]:
    base = {
        "subject-id": ["s0042@uzh.ch"],
        "swissEduPersonUniqueID": ["112233@uzh.ch"],
        "eduPersonPrincipalName": ["sam@uzh.ch"],
        "swissEduPersonHomeOrganization": ["uzh.ch"],
        "eduPersonAffiliation": ["student", "member"],
        "eduPersonScopedAffiliation": ["student@uzh.ch"],
        "givenName": ["Sam"],
        "sn": ["Student"],
        "displayName": ["Sam Student"],
        "mail": ["sam@uzh.ch"],
    }
    base.update(changes)
    return {name: value for name, value in base.items() if value}


def start_login(client: Client, idp: TestIdP, *, next_url: str = "/uzh/") -> tuple[str, str]:
    """GET /saml2/login/ like a browser; the IdP reads the AuthnRequest. Returns (request id, RelayState)."""
    response = client.get("/saml2/login/", {"idp": idp.entity_id, "next": next_url})
    assert response.status_code == 302, response.content
    location = response["Location"]
    request = idp.read_request(location)
    from urllib.parse import parse_qs, urlparse

    relay_state = parse_qs(urlparse(location).query).get("RelayState", [""])[0]
    return request.id, relay_state


def post(client: Client, xml: str, relay_state: str = "/uzh/") -> Any:
    return client.post("/saml2/acs/", {"SAMLResponse": encode(xml), "RelayState": relay_state})


def sign_in(
    client: Client,
    attributes: dict[str, list[str]],
    *,
    idp: TestIdP,
    responder: TestIdP | None = None,
    next_url: str = "/uzh/",
    **response_options: Any,
) -> Any:
    request_id, relay_state = start_login(client, idp, next_url=next_url)
    xml = (responder or idp).response_xml(
        attributes, in_response_to=request_id, sp_entity_id=SP_ENTITY_ID, **response_options
    )
    return post(client, xml, relay_state)


def assert_refused(response: Any, title: str) -> None:
    body = response.content.decode()
    assert response.status_code == 403, body[:2000]
    assert title in body, body[:2000]
    assert 'data-testid="refusal-message"' in body
    assert "Traceback" not in body
    assert "contact" in body  # says whom to ask
    assert not User.objects.exists()
    assert not Membership.objects.exists()
    assert not ExternalIdentity.objects.exists()


# --- accepted sign-ins ------------------------------------------------------------------------------------


def test_signed_response_with_encrypted_assertion_signs_a_lecturer_in(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    request_id, relay_state = start_login(client, saml.uzh, next_url="/uzh/")
    xml = saml.uzh.response_xml(lecturer(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID)
    # edu-ID's shape: the Response is signed, the Assertion only exists encrypted.
    assert "EncryptedAssertion" in xml and "Lena" not in xml
    response = post(client, xml, relay_state)

    assert response.status_code == 302
    assert response["Location"] == "/uzh/"
    user = User.objects.get()
    assert user.username.startswith("u-") and "lena" not in user.username
    assert (user.first_name, user.last_name, user.display_name) == ("Lena", "Lehrer", "Lena Lehrer")
    assert user.email == "lena.lehrer@uzh.ch"
    assert user.preferred_language == "de"
    assert "django_language" not in response.cookies  # preferredLanguage is read from the user, not a cookie
    assert user.affiliations == ["faculty", "member"]
    membership = Membership.objects.get(user=user)
    assert (membership.tenant, membership.role, membership.source) == (uzh, "host", "saml")
    identities = {(row.kind, row.value, row.issuer) for row in ExternalIdentity.objects.all()}
    assert identities == {
        ("subject-id", "8f3a2c@uzh.ch", UZH_IDP),
        ("swissEduPersonUniqueID", "776655@uzh.ch", UZH_IDP),
    }
    home = client.get("/uzh/")
    assert 'data-testid="signed-in-as">Lena Lehrer<' in home.content.decode()
    assert 'data-testid="tenant-name">University of Zurich<' in home.content.decode()
    assert '<html lang="de">' in home.content.decode()  # the interface follows preferredLanguage


def test_second_sign_in_updates_the_same_person_and_keeps_an_assigned_role(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    assert sign_in(client, student(), idp=saml.uzh).status_code == 302
    user = User.objects.get()
    assert Membership.objects.get(user=user).role == "member"
    services.grant_role(actor=None, tenant=uzh, user=user, role=Membership.Role.ADMIN)
    client.logout()

    changed = student(givenName=["Samira"], displayName=["Samira Student"], mail=["samira@uzh.ch"])
    assert sign_in(client, changed, idp=saml.uzh).status_code == 302
    assert User.objects.count() == 1
    user.refresh_from_db()
    assert (user.first_name, user.display_name, user.email) == ("Samira", "Samira Student", "samira@uzh.ch")
    membership = Membership.objects.get(user=user)
    assert (membership.role, membership.source) == ("admin", "assigned")


def test_role_from_the_idp_follows_affiliation_changes(saml: SamlWorld, uzh: Any, client: Client) -> None:
    assert sign_in(client, student(), idp=saml.uzh).status_code == 302
    client.logout()
    promoted = student(eduPersonAffiliation=["employee"], eduPersonScopedAffiliation=[])
    assert sign_in(client, promoted, idp=saml.uzh).status_code == 302
    assert Membership.objects.get().role == "host"


def test_fallback_keys_and_home_organisation(saml: SamlWorld, uzh: Any, client: Client) -> None:
    """No subject-id: swissEduPersonUniqueID keys the person; schacHomeOrganization names the tenant."""
    attributes = student()
    attributes.pop("subject-id")
    attributes.pop("swissEduPersonHomeOrganization")
    attributes["schacHomeOrganization"] = ["uzh.ch"]
    assert sign_in(client, attributes, idp=saml.uzh).status_code == 302
    row = ExternalIdentity.objects.get()
    assert (row.kind, row.value) == ("swissEduPersonUniqueID", "112233@uzh.ch")
    assert Membership.objects.get().tenant == uzh


def test_eppn_and_mail_are_never_keys(saml: SamlWorld, uzh: Any, client: Client) -> None:
    """A different person who inherits a reassigned ePPN and mail is a different user."""
    assert sign_in(client, student(), idp=saml.uzh).status_code == 302
    client.logout()
    newcomer = student(swissEduPersonUniqueID=["999999@uzh.ch"])
    newcomer["subject-id"] = ["new0001@uzh.ch"]
    assert sign_in(client, newcomer, idp=saml.uzh).status_code == 302
    assert User.objects.count() == 2


def test_scoped_affiliation_of_another_organisation_grants_nothing(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    attributes = student(eduPersonScopedAffiliation=["faculty@eth.ch"])
    assert sign_in(client, attributes, idp=saml.uzh).status_code == 302
    assert Membership.objects.get().role == "member"
    assert User.objects.get().affiliations == ["member", "student"]


def test_hostile_relay_state_ends_on_the_tenant_home(saml: SamlWorld, uzh: Any, client: Client) -> None:
    # Through the login view: the hostile `next` never becomes the RelayState.
    request_id, relay_state = start_login(client, saml.uzh, next_url="https://evil.example.com/steal")
    assert "evil" not in relay_state
    # Posted straight to the ACS with a hostile RelayState: still lands on a page of ours.
    xml = saml.uzh.response_xml(lecturer(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID)
    response = post(client, xml, "https://evil.example.com/steal")
    assert response.status_code == 302
    assert response["Location"] == "/uzh/"


def test_safe_next_is_kept(saml: SamlWorld, uzh: Any, client: Client) -> None:
    response = sign_in(client, lecturer(), idp=saml.uzh, next_url="/uzh/rooms/?page=2")
    assert response["Location"] == "/uzh/rooms/?page=2"


# --- refused sign-ins ---------------------------------------------------------------------------------------


def test_tampered_assertion_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    request_id, relay_state = start_login(client, saml.uzh)
    xml = saml.uzh.response_xml(
        student(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID, encrypt=False
    )
    assert ">student<" in xml
    tampered = xml.replace(">student<", ">faculty<")
    assert_refused(post(client, tampered, relay_state), "Sign-in could not be verified")


def test_unsigned_response_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    response = sign_in(client, lecturer(), idp=saml.uzh, sign_response=False)
    assert_refused(response, "Sign-in could not be verified")


def test_unsigned_response_with_signed_assertion_is_refused(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    """want_response_signed: a signed assertion alone does not do."""
    response = sign_in(
        client, lecturer(), idp=saml.uzh, sign_response=False, sign_assertion=True, encrypt=False
    )
    assert_refused(response, "Sign-in could not be verified")


def test_unknown_idp_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    response = sign_in(client, lecturer(), idp=saml.uzh, responder=saml.stranger)
    assert_refused(response, "Unknown identity provider")


def test_trusted_entity_id_with_another_key_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    response = sign_in(client, lecturer(), idp=saml.uzh, responder=saml.impostor)
    assert_refused(response, "Sign-in could not be verified")


def test_signature_wrapping_with_an_extra_unsigned_assertion_is_refused(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    request_id, relay_state = start_login(client, saml.uzh)
    genuine = saml.uzh.response_xml(student(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID)
    # The attacker's own assertion (a faculty member), unsigned, slipped in before the genuine encrypted one.
    forged_source = saml.uzh.response_xml(
        lecturer(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID, sign_response=False, encrypt=False
    )
    forged = first_assertion(forged_source)
    marker = genuine.index("<saml:EncryptedAssertion") if "<saml:EncryptedAssertion" in genuine else None
    assert marker is not None, genuine[:500]
    wrapped = genuine[:marker] + forged + genuine[marker:]
    assert_refused(post(client, wrapped, relay_state), "Sign-in could not be verified")


def test_replayed_response_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    request_id, relay_state = start_login(client, saml.uzh)
    xml = saml.uzh.response_xml(lecturer(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID)
    assert post(client, xml, relay_state).status_code == 302
    client.logout()
    User.objects.all().delete()  # so that "nothing written" can be checked for the replay
    response = post(client, xml, relay_state)
    assert_refused(response, "Sign-in not started here")


def test_response_injected_into_another_browser_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    """Login CSRF: the attacker's own valid response, posted from the victim's browser."""
    request_id, relay_state = start_login(client, saml.uzh)
    xml = saml.uzh.response_xml(lecturer(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID)
    victim = Client(enforce_csrf_checks=True)
    start_login(victim, saml.uzh)  # the victim even has a sign-in of their own under way
    assert_refused(post(victim, xml, relay_state), "Sign-in not started here")


def test_out_of_scope_home_organisation_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    """A signed assertion from uzh's IdP that claims ETH's domain."""
    attributes = lecturer(swissEduPersonHomeOrganization=["eth.ch"])
    assert_refused(sign_in(client, attributes, idp=saml.uzh), "Institution not confirmed")


def test_idp_not_allowed_for_the_tenant_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    """The hub may speak for uzh.ch (scope in its metadata), but uzh does not accept it."""
    response = sign_in(client, lecturer(), idp=saml.hub)
    assert_refused(response, "Sign-in method not accepted")
    assert "University of Zurich does not accept" in response.content.decode()


def test_unknown_home_organisation_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    attributes = lecturer(swissEduPersonHomeOrganization=["epfl.ch"])
    response = sign_in(client, attributes, idp=saml.hub)
    assert_refused(response, "Your institution does not use auditorium")


def test_identifier_outside_the_idps_scope_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    attributes = lecturer()
    attributes["subject-id"] = ["8f3a2c@eth.ch"]
    assert_refused(sign_in(client, attributes, idp=saml.uzh), "Identity not confirmed")


def test_missing_identifier_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    attributes = lecturer()
    attributes.pop("subject-id")
    attributes.pop("swissEduPersonUniqueID")
    assert_refused(sign_in(client, attributes, idp=saml.uzh), "No stable identifier")


def test_expired_assertion_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    """Issued 10 minutes ago with a 5-minute lifetime: beyond the 60 s of allowed clock skew."""
    response = sign_in(client, lecturer(), idp=saml.uzh, seconds_ago=600)
    assert_refused(response, "Sign-in expired")


def test_response_within_the_allowed_clock_skew_is_accepted(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    """An IdP clock 50 s ahead of ours: NotBefore lies in our future, within the 60 s allowed."""
    assert sign_in(client, lecturer(), idp=saml.uzh, seconds_ago=-50).status_code == 302


def test_response_from_an_idp_clock_far_ahead_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    assert_refused(sign_in(client, lecturer(), idp=saml.uzh, seconds_ago=-300), "Sign-in expired")


def test_acs_without_a_response_is_a_clear_400(saml: SamlWorld, client: Client, db: Any) -> None:
    response = client.post("/saml2/acs/", {})
    assert response.status_code == 400


# --- configuration and sign-out -----------------------------------------------------------------------------


def test_sp_metadata_publishes_encryption_key_and_signing_wishes(
    saml: SamlWorld, client: Client, db: Any
) -> None:
    body = client.get("/saml2/metadata/").content.decode()
    assert 'WantAssertionsSigned="false"' in body
    assert 'use="encryption"' in body
    assert f"{BASE}/saml2/acs/" in body
    assert "urn:oasis:names:tc:SAML:attribute:subject-id" in body


def test_saml_session_cookie_is_samesite_none_and_secure(saml: SamlWorld, client: Client, db: Any) -> None:
    response = client.get("/saml2/login/", {"idp": UZH_IDP, "next": "/uzh/"})
    cookie = response.cookies["saml_session"]
    assert cookie["samesite"] == "None"
    assert cookie["secure"] is True


def test_local_sign_out_always_works(saml: SamlWorld, uzh: Any, client: Client) -> None:
    assert sign_in(client, lecturer(), idp=saml.uzh).status_code == 302
    client.get("/uzh/")
    response = client.post("/accounts/logout/", HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)
    assert response.status_code == 302
    assert 'data-testid="signed-in-as"' not in client.get("/uzh/").content.decode()


def test_saml_logout_without_idp_single_logout_signs_out_locally(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    assert sign_in(client, lecturer(), idp=saml.uzh).status_code == 302
    response = client.get("/saml2/logout/")
    assert response.status_code in {302, 303}
    assert 'data-testid="signed-in-as"' not in client.get("/uzh/").content.decode()


def test_development_idp_is_not_mounted_without_the_setting(saml: SamlWorld, client: Client, db: Any) -> None:
    assert client.get("/dev-idp/metadata/").status_code == 404
    assert client.get("/dev-idp/sso/").status_code == 404


def test_sign_in_at_an_unknown_idp_is_a_clear_403(saml: SamlWorld, client: Client, db: Any) -> None:
    response = client.get("/saml2/login/", {"idp": "https://idp.nowhere.example.org/", "next": "/"})
    assert response.status_code == 403
    assert "Unknown identity provider" in response.content.decode()


def test_expired_idp_metadata_is_a_clear_503(saml: SamlWorld, settings: Any, tmp_path: Path, db: Any) -> None:
    expired = tmp_path / "expired.xml"
    xml = saml.uzh.metadata_xml().replace(
        "<ns0:EntityDescriptor ", '<ns0:EntityDescriptor validUntil="2020-01-01T00:00:00Z" ', 1
    )
    aggregate = (
        '<ns0:EntitiesDescriptor xmlns:ns0="urn:oasis:names:tc:SAML:2.0:metadata" '
        'validUntil="2020-01-01T00:00:00Z">'
        + re.sub(r"^<\?xml[^>]*\?>\s*", "", xml)
        + "</ns0:EntitiesDescriptor>"
    )
    expired.write_text(aggregate)
    settings.SAML_METADATA_FILES = [str(expired)]
    saml_config.clear_config_cache()
    client = Client(enforce_csrf_checks=True)
    for response in (
        client.get("/saml2/login/", {"next": "/"}),
        client.post("/saml2/acs/", {"SAMLResponse": "x"}),
    ):
        assert response.status_code == 503
        assert "temporarily unavailable" in response.content.decode()
        assert response["Retry-After"].isdigit()


def test_missing_home_organisation_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    attributes = lecturer()
    attributes.pop("swissEduPersonHomeOrganization")
    assert_refused(sign_in(client, attributes, idp=saml.uzh), "Your institution is not known")


def test_home_organisation_of_an_inactive_tenant_is_refused(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    uzh.is_active = False
    uzh.save(update_fields=["is_active"])
    assert_refused(sign_in(client, lecturer(), idp=saml.uzh), "Your institution does not use auditorium")


def test_next_back_into_saml_lands_on_the_tenant_home(saml: SamlWorld, uzh: Any, client: Client) -> None:
    """The header's "Sign in" link on a refusal page carries next=/saml2/acs/: not a destination."""
    response = sign_in(client, lecturer(), idp=saml.uzh, next_url="/saml2/acs/")
    assert response["Location"] == "/uzh/"


def test_refusal_after_a_broken_response_offers_to_sign_in_again(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    response = sign_in(client, lecturer(), idp=saml.uzh, sign_response=False)
    assert 'href="/saml2/login/"' in response.content.decode()


def test_sp_configuration_is_built_once_and_follows_its_settings(saml: SamlWorld, settings: Any) -> None:
    first = saml_config.load_config()
    assert saml_config.load_config() is first
    settings.PUBLIC_URL = "https://portal.example.org"
    settings.SAML_ENTITY_ID = "https://portal.example.org/saml2/metadata/"
    rebuilt = saml_config.load_config()
    assert rebuilt is not first
    assert rebuilt.entityid == "https://portal.example.org/saml2/metadata/"


def test_disabled_account_is_refused_and_not_updated(saml: SamlWorld, uzh: Any, client: Client) -> None:
    assert sign_in(client, student(), idp=saml.uzh).status_code == 302
    client.logout()
    User.objects.update(is_active=False)
    response = sign_in(client, student(givenName=["Changed"]), idp=saml.uzh)
    assert response.status_code == 403
    assert "Your account is disabled" in response.content.decode()
    assert User.objects.get().first_name == "Sam"


def test_signature_wrapping_with_the_signed_response_nested_in_a_forged_one_is_refused(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    """XSW: a forged unsigned Response (a faculty member) that carries the genuine signed one inside it."""
    request_id, relay_state = start_login(client, saml.uzh)
    genuine = saml.uzh.response_xml(student(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID)
    forged = saml.uzh.response_xml(
        lecturer(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID, sign_response=False, encrypt=False
    )
    genuine_element = re.sub(r"^<\?xml[^>]*\?>\s*", "", genuine)
    issuer_end = forged.index("</saml:Issuer>") + len("</saml:Issuer>")
    wrapped = (
        forged[:issuer_end]
        + '<samlp:Extensions xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">'
        + genuine_element
        + "</samlp:Extensions>"
        + forged[issuer_end:]
    )
    assert_refused(post(client, wrapped, relay_state), "Sign-in could not be verified")


# --- roles set by the institution ---------------------------------------------------------------

ADMIN_ENTITLEMENT = "urn:mace:uzh.ch:auditorium:admin"


def test_admin_entitlement_configured_by_the_tenant_makes_an_admin(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    uzh.admin_entitlement = ADMIN_ENTITLEMENT
    uzh.save(update_fields=["admin_entitlement"])
    entitled = student(eduPersonEntitlement=["urn:mace:other:thing", ADMIN_ENTITLEMENT])
    assert sign_in(client, entitled, idp=saml.uzh).status_code == 302
    membership = Membership.objects.get()
    assert (membership.role, membership.source) == ("admin", "saml")
    client.logout()
    # The entitlement withdrawn at the IdP: the next sign-in takes the admin role away again.
    assert sign_in(client, student(), idp=saml.uzh).status_code == 302
    assert Membership.objects.get().role == "member"


def test_entitlement_of_no_meaning_to_the_tenant_grants_nothing(
    saml: SamlWorld, uzh: Any, client: Client
) -> None:
    entitled = student(eduPersonEntitlement=[ADMIN_ENTITLEMENT])
    assert sign_in(client, entitled, idp=saml.uzh).status_code == 302
    assert Membership.objects.get().role == "member"


def test_blocked_member_cannot_sign_in_and_nothing_changes(saml: SamlWorld, uzh: Any, client: Client) -> None:
    assert sign_in(client, student(), idp=saml.uzh).status_code == 302
    membership = Membership.objects.get()
    membership.is_blocked = True
    membership.save(update_fields=["is_blocked"])
    client.logout()
    response = sign_in(client, student(givenName=["Changed"]), idp=saml.uzh)
    body = response.content.decode()
    assert response.status_code == 403
    assert "Your access is blocked" in body and "University of Zurich" in body
    assert User.objects.get().first_name == "Sam"  # the refused sign-in wrote nothing
    assert "_auth_user_id" not in client.session


# --- no personal data in logs -----------------------------------------------------------------------------

PERSONAL = ("8f3a2c", "776655", "lena.lehrer@uzh.ch", "lena@uzh.ch", "Lena", "Lehrer")


@pytest.mark.parametrize(
    ("attributes", "block", "reason"),
    [
        (lecturer(swissEduPersonHomeOrganization=["eth.ch"]), False, "home_organization_out_of_scope"),
        (lecturer(), True, "blocked"),
    ],
)
def test_refused_sign_in_logs_the_reason_and_the_idp_and_nothing_personal(
    saml: SamlWorld,
    uzh: Any,
    client: Client,
    caplog: pytest.LogCaptureFixture,
    attributes: dict[str, list[str]],
    block: bool,
    reason: str,
) -> None:
    if block:
        assert sign_in(client, lecturer(), idp=saml.uzh).status_code == 302
        Membership.objects.update(is_blocked=True)
        client.logout()
    for name in (None, "saml2", "djangosaml2", "tenants", "django"):
        caplog.set_level(logging.DEBUG, logger=name)
    request_id, relay_state = start_login(client, saml.uzh)
    xml = saml.uzh.response_xml(attributes, in_response_to=request_id, sp_entity_id=SP_ENTITY_ID)
    caplog.clear()  # the test IdP's own logs (it runs in this process) are not the SP's
    response = post(client, xml, relay_state)
    assert response.status_code == 403
    logged = caplog.text + "".join(record.getMessage() for record in caplog.records)
    assert caplog.records, "nothing was logged"
    for value in PERSONAL:
        assert value not in logged, value
    assert f"reason={reason}" in logged
    assert UZH_IDP in logged


# --- metadata validity ------------------------------------------------------------------------------------


def stamp(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def write_aggregate(path: Path, entities: list[tuple[TestIdP, float | None]], *, valid_until: float) -> str:
    parts = []
    for idp, entity_until in entities:
        xml = re.sub(r"^<\?xml[^>]*\?>\s*", "", idp.metadata_xml())
        if entity_until is not None:
            # The prefix depends on what pysaml2 registered earlier in the process (ns0, md, ...).
            xml = re.sub(
                r"<(\w+:)?EntityDescriptor ", rf'\g<0>validUntil="{stamp(entity_until)}" ', xml, count=1
            )
            assert "validUntil" in xml
        parts.append(xml)
    path.write_text(
        '<ns0:EntitiesDescriptor xmlns:ns0="urn:oasis:names:tc:SAML:2.0:metadata" '
        f'validUntil="{stamp(valid_until)}">' + "".join(parts) + "</ns0:EntitiesDescriptor>"
    )
    return str(path)


def assert_unavailable(response: Any, text: str = "temporarily unavailable") -> None:
    body = response.content.decode()
    assert response.status_code == 503, body[:2000]
    assert text in body, body[:2000]
    assert response["Retry-After"].isdigit()


def test_metadata_expires_at_its_valid_until_without_the_file_changing(
    saml: SamlWorld, uzh: Any, client: Client, settings: Any, tmp_path: Path
) -> None:
    until = int(time.time()) + 4
    settings.SAML_METADATA_FILES = [
        write_aggregate(tmp_path / "soon.xml", [(saml.uzh, None)], valid_until=until)
    ]
    assert sign_in(client, lecturer(), idp=saml.uzh).status_code == 302
    client.logout()
    request_id, relay_state = start_login(client, saml.uzh)
    xml = saml.uzh.response_xml(lecturer(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID)
    time.sleep(max(0.0, until - time.time()) + 0.3)
    assert_unavailable(post(client, xml, relay_state))
    assert_unavailable(client.get("/saml2/login/", {"idp": UZH_IDP, "next": "/uzh/"}))
    assert client.get("/saml2/metadata/").status_code == 200


def test_an_expired_entity_is_unavailable_not_unknown_and_nobody_is_sent_elsewhere(
    saml: SamlWorld, uzh: Any, client: Client, settings: Any, tmp_path: Path
) -> None:
    now = time.time()
    settings.SAML_METADATA_FILES = [
        write_aggregate(
            tmp_path / "two.xml", [(saml.uzh, now - 3600), (saml.hub, now + 86400)], valid_until=now + 86400
        )
    ]
    # A response from the expired IdP: its institution's sign-in is unavailable (not "unknown IdP").
    request_id, _relay = start_login(client, saml.hub)
    xml = saml.uzh.response_xml(lecturer(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID)
    assert_unavailable(post(client, xml), "Sign-in through")
    assert_unavailable(client.get("/saml2/login/", {"idp": UZH_IDP, "next": "/uzh/"}), UZH_IDP)
    # Without idp=: a choice that shows the unavailable institution, never a redirect to the remaining IdP.
    choice = client.get("/saml2/login/", {"next": "/uzh/"})
    body = choice.content.decode()
    assert choice.status_code == 200, body[:2000]
    assert 'data-testid="idp-unavailable"' in body and UZH_IDP in body
    assert body.count('data-testid="idp-choice"') == 1 and "eduid.example.org" in body
    # The other IdP still works.
    assert start_login(client, saml.hub)[0]


def test_sp_metadata_and_a_missing_federation(
    saml: SamlWorld, client: Client, settings: Any, db: Any
) -> None:
    settings.SAML_METADATA_FILES = []
    assert_unavailable(client.get("/saml2/login/", {"next": "/"}))
    assert_unavailable(client.post("/saml2/acs/", {"SAMLResponse": "eA=="}))
    metadata = client.get("/saml2/metadata/")
    assert metadata.status_code == 200
    assert f'entityID="{SP_ENTITY_ID}"' in metadata.content.decode()


def test_sp_metadata_is_served_while_the_federation_is_expired(
    saml: SamlWorld, client: Client, settings: Any, tmp_path: Path, db: Any
) -> None:
    past = time.time() - 3600
    settings.SAML_METADATA_FILES = [
        write_aggregate(tmp_path / "old.xml", [(saml.uzh, None)], valid_until=past)
    ]
    assert_unavailable(client.get("/saml2/login/", {"idp": UZH_IDP}))
    response = client.get("/saml2/metadata/")
    assert response.status_code == 200
    assert f'entityID="{SP_ENTITY_ID}"' in response.content.decode()


def test_sp_metadata_offers_sha256_and_above_only_and_names_the_service(
    saml: SamlWorld, client: Client, settings: Any, db: Any
) -> None:
    body = client.get("/saml2/metadata/").content.decode()
    algorithms = re.findall(r'(?:DigestMethod|SigningMethod) Algorithm="([^"]+)"', body)
    assert "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256" in algorithms
    assert "http://www.w3.org/2001/04/xmlenc#sha256" in algorithms
    for weak in ("md5", "sha1", "sha224", "ripemd", "dsa-", "rsa-md5", "rsa-sha1", "hmac"):
        assert not [alg for alg in algorithms if alg.split("#")[-1].startswith(weak)], (weak, algorithms)
    assert re.search(r"<(\w+:)?ServiceName[^>]*>auditorium</(\w+:)?ServiceName>", body), body
    settings.SAML_SERVICE_NAME = "Vorlesungen UZH"
    assert ">Vorlesungen UZH</" in client.get("/saml2/metadata/").content.decode()


def test_sha1_signed_response_is_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    response = sign_in(client, lecturer(), idp=saml.uzh, sign_alg=SIG_RSA_SHA1, digest_alg=DIGEST_SHA1)
    assert_refused(response, "Sign-in could not be verified")
    assert "SHA-1" in response.content.decode()


def test_sha1_signed_logout_messages_are_refused(saml: SamlWorld, uzh: Any, client: Client) -> None:
    assert sign_in(client, lecturer(), idp=saml.uzh).status_code == 302
    response = client.get(
        "/saml2/ls/", {"SAMLRequest": "x", "SigAlg": SIG_RSA_SHA1, "Signature": "x", "RelayState": "/"}
    )
    assert response.status_code == 400
    assert "SHA-1" in response.content.decode()


def test_unreadable_logout_message_is_a_clear_400(saml: SamlWorld, uzh: Any, client: Client) -> None:
    # preferredLanguage en: the page is read in English below (the lecturer's own de would translate it).
    assert sign_in(client, lecturer(preferredLanguage=["en"]), idp=saml.uzh).status_code == 302
    for query in ({"SAMLRequest": "x"}, {"SAMLResponse": "x"}):
        response = client.get("/saml2/ls/", query)
        assert response.status_code == 400, response.content[:500]
        assert "Sign-out request refused" in response.content.decode()


def test_sign_in_uses_the_configuration_without_the_signing_key(saml: SamlWorld, rf: Any) -> None:
    """Login and ACS clients get no signing key (pysaml2 parses it for every client: most of a sign-in's
    CPU with a 3072-bit key); logout, which signs, keeps it. Decryption keeps its key; metadata is shared."""
    from django.urls import resolve

    from tenants.saml_config import load_config

    full = load_config()
    for path, signs in [
        ("/saml2/login/", False),
        ("/saml2/acs/", False),
        ("/saml2/logout/", True),
        ("/saml2/ls/", True),
    ]:
        request = rf.get(path)
        request.resolver_match = resolve(path)
        config = load_config(request)
        assert bool(config.key_file) == signs, path
        assert config.encryption_keypairs == full.encryption_keypairs
        assert config.metadata is full.metadata
