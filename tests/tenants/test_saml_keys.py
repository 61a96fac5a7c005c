"""manage.py saml_keys: generate, show, and a rollover (stage, promote, retire) that never breaks sign-in."""

from __future__ import annotations

import datetime as dt
import io
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from defusedxml import ElementTree
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from tenants import saml_keys
from tests.saml_idp import TestIdP, key_pair, pem_body
from tests.tenants import test_saml_signin as signin
from tests.tenants.test_saml_signin import SP_ENTITY_ID, UZH_IDP, SamlWorld, lecturer, post, start_login

# The sign-in tests' fixtures: the SAML world (IdPs, SP pair, metadata), tenant uzh, a browser-like client.
saml_world = signin.saml_world
saml = signin.saml
uzh = signin.uzh
client = signin.client

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("saml_keys", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def sp_files(tmp_path: Path, settings: Any) -> tuple[Path, Path]:
    """The SP pair of the SAML test world, copied where the commands may change it."""
    key, cert = tmp_path / "sp.key", tmp_path / "sp.crt"
    key_pem, cert_pem = key_pair("sp")
    key.write_bytes(key_pem)
    cert.write_bytes(cert_pem)
    settings.SAML_KEY_FILE, settings.SAML_CERT_FILE = str(key), str(cert)
    settings.SAML_NEXT_KEY_FILE = settings.SAML_NEXT_CERT_FILE = ""
    return key, cert


def metadata_certs(client: Client) -> dict[str, set[str]]:
    root = ElementTree.fromstring(client.get("/saml2/metadata/").content)
    found: dict[str, set[str]] = {"signing": set(), "encryption": set()}
    for descriptor in root.iter(f"{{{MD}}}KeyDescriptor"):
        text = descriptor.find(f".//{{{DS}}}X509Certificate").text
        found[descriptor.get("use")].add("".join(text.split()))
    return found


def fresh_uzh_idp(workdir: Path, client: Client) -> TestIdP:
    """The trusted uzh IdP (same key as in the metadata), having read the SP's metadata as served now."""
    idp = TestIdP(
        entity_id=UZH_IDP,
        sso_url="https://idp.uzh.example.org/sso",
        scopes=["uzh.ch"],
        key_name="uzh",
        workdir=workdir,
    )
    idp.load_sp(client.get("/saml2/metadata/").content.decode())
    return idp


def sign_in_encrypted_to(client: Client, idp: TestIdP, cert_pem: bytes) -> Any:
    request_id, relay_state = start_login(client, idp)
    xml = idp.response_xml(
        lecturer(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID, encrypt_to=cert_pem
    )
    return post(client, xml, relay_state)


# --- generate and show ------------------------------------------------------------------------------------


def test_generate_writes_a_3072_bit_pair_with_a_private_key_file(tmp_path: Path, settings: Any) -> None:
    key, cert = tmp_path / "keys" / "sp.key", tmp_path / "keys" / "sp.crt"
    settings.SAML_KEY_FILE, settings.SAML_CERT_FILE = str(key), str(cert)
    settings.PUBLIC_URL = "https://portal.example.org"
    out, _err = run("generate")
    assert stat.S_IMODE(os.stat(key).st_mode) == 0o600
    certificate = x509.load_pem_x509_certificate(cert.read_bytes())
    assert certificate.public_key().key_size == 3072  # type: ignore[union-attr] - an RSA key
    assert certificate.subject.rfc4514_string() == "CN=portal.example.org"
    left = certificate.not_valid_after_utc - dt.datetime.now(dt.UTC)
    assert dt.timedelta(days=3648) < left <= dt.timedelta(days=3650)
    assert saml_keys.describe(cert).fingerprint in out
    assert not list(key.parent.glob(".*.tmp"))  # written through temporary files, none left


def test_generate_refuses_to_overwrite_a_key_unless_forced(tmp_path: Path) -> None:
    key, cert = tmp_path / "sp.key", tmp_path / "sp.crt"
    run("generate", "--bits", "2048", "--key", str(key), "--cert", str(cert))
    before = key.read_bytes()
    with pytest.raises(CommandError, match="refusing to overwrite"):
        run("generate", "--bits", "2048", "--key", str(key), "--cert", str(cert))
    assert key.read_bytes() == before
    run("generate", "--bits", "2048", "--days", "30", "--key", str(key), "--cert", str(cert), "--force")
    assert key.read_bytes() != before
    assert saml_keys.describe(cert, key).key_matches


def test_generate_takes_only_the_documented_key_sizes(tmp_path: Path) -> None:
    with pytest.raises(CommandError):
        run("generate", "--bits", "1024", "--key", str(tmp_path / "k"), "--cert", str(tmp_path / "c"))
    assert not (tmp_path / "k").exists()


def test_show_prints_fingerprint_subject_expiry_and_size_and_warns_before_expiry(tmp_path: Path) -> None:
    key, cert = tmp_path / "sp.key", tmp_path / "sp.crt"
    run("generate", "--bits", "2048", "--days", "20", "--common-name", "sp.example.org",
        "--key", str(key), "--cert", str(cert))  # fmt: skip
    out, err = run("show", "--key", str(key), "--cert", str(cert))
    info = saml_keys.describe(cert)
    assert len(info.fingerprint) == 95  # 32 bytes as colon-separated hex
    assert info.fingerprint in out
    assert "CN=sp.example.org" in out
    assert info.not_after.isoformat() in out
    assert "key size: 2048 bits" in out
    assert "expires in 19 days" in err


def test_show_without_a_certificate_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="saml_keys generate"):
        run("show", "--key", str(tmp_path / "sp.key"), "--cert", str(tmp_path / "sp.crt"))


# --- rollover ----------------------------------------------------------------------------------------------


def test_stage_refuses_without_a_current_pair_and_twice(tmp_path: Path, sp_files: tuple[Path, Path]) -> None:
    with pytest.raises(CommandError, match="generate"):
        run("stage", "--key", str(tmp_path / "none.key"), "--cert", str(tmp_path / "none.crt"))
    run("stage", "--bits", "2048")
    with pytest.raises(CommandError, match="staged already"):
        run("stage", "--bits", "2048")


def test_stage_uses_the_next_settings(tmp_path: Path, sp_files: tuple[Path, Path], settings: Any) -> None:
    settings.SAML_NEXT_KEY_FILE = str(tmp_path / "elsewhere" / "n.key")
    settings.SAML_NEXT_CERT_FILE = str(tmp_path / "elsewhere" / "n.crt")
    run("stage", "--bits", "2048")
    assert saml_keys.describe(tmp_path / "elsewhere" / "n.crt", tmp_path / "elsewhere" / "n.key").key_matches
    assert not (tmp_path / "sp.next.key").exists()


def test_promote_without_a_staged_pair_changes_nothing(sp_files: tuple[Path, Path]) -> None:
    key, _cert = sp_files
    before = key.read_bytes()
    with pytest.raises(CommandError, match="Nothing staged"):
        run("promote")
    assert key.read_bytes() == before


@pytest.mark.django_db
def test_staged_pair_is_published_and_decrypts(
    saml: SamlWorld, uzh: Any, client: Client, sp_files: tuple[Path, Path], tmp_path: Path
) -> None:
    _key, cert = sp_files
    current = pem_body(cert.read_bytes())
    assert metadata_certs(client) == {"signing": {current}, "encryption": {current}}

    out, _err = run("stage", "--bits", "2048")
    assert "promote" in out
    next_cert = (tmp_path / "sp.next.crt").read_bytes()
    assert stat.S_IMODE(os.stat(tmp_path / "sp.next.key").st_mode) == 0o600
    staged = pem_body(next_cert)
    # Both certificates, for encryption and for signing, so IdPs may refresh before the switch.
    assert metadata_certs(client) == {"signing": {current, staged}, "encryption": {current, staged}}

    idp = fresh_uzh_idp(tmp_path / "idp", client)
    response = sign_in_encrypted_to(client, idp, next_cert)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/uzh/"
    client.logout()
    response = sign_in_encrypted_to(client, idp, cert.read_bytes())  # the current key still decrypts
    assert response.status_code == 302, response.content.decode()[:2000]


@pytest.mark.django_db
def test_after_promote_the_old_key_decrypts_until_retired(
    saml: SamlWorld, uzh: Any, client: Client, sp_files: tuple[Path, Path], tmp_path: Path
) -> None:
    key, cert = sp_files
    old_cert = cert.read_bytes()
    run("stage", "--bits", "2048")
    idp = fresh_uzh_idp(tmp_path / "idp", client)  # read the metadata while both were published
    next_cert = (tmp_path / "sp.next.crt").read_bytes()

    out, _err = run("promote")
    assert "14 days" in out
    assert cert.read_bytes() == next_cert
    assert not (tmp_path / "sp.next.key").exists()
    assert stat.S_IMODE(os.stat(tmp_path / "sp.previous.key").st_mode) == 0o600
    assert saml_keys.describe(cert, key).key_matches
    # Only the new certificate is published now.
    assert metadata_certs(client) == {"signing": {pem_body(next_cert)}, "encryption": {pem_body(next_cert)}}
    shown, _err = run("show")
    assert "previous (decrypting until" in shown

    # An IdP still encrypting to the old certificate: decrypted during the grace period.
    response = sign_in_encrypted_to(client, idp, old_cert)
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()
    response = sign_in_encrypted_to(client, idp, next_cert)
    assert response.status_code == 302, response.content.decode()[:2000]
    client.logout()

    out, _err = run("retire")
    assert "removed" in out
    assert not (tmp_path / "sp.previous.key").exists()
    response = sign_in_encrypted_to(client, idp, old_cert)
    assert response.status_code == 403
    assert "could not be verified" in response.content.decode()
    out, _err = run("retire")
    assert "No previous pair" in out


@pytest.mark.django_db
def test_the_old_key_stops_decrypting_when_the_grace_period_ends(
    saml: SamlWorld, uzh: Any, client: Client, sp_files: tuple[Path, Path], tmp_path: Path, settings: Any
) -> None:
    _key, cert = sp_files
    old_cert = cert.read_bytes()
    run("stage", "--bits", "2048")
    idp = fresh_uzh_idp(tmp_path / "idp", client)
    run("promote")
    previous = tmp_path / "sp.previous.crt"
    promoted_at = previous.stat().st_mtime
    os.utime(previous, (promoted_at - 15 * 86400, promoted_at - 15 * 86400))  # promoted 15 days ago
    response = sign_in_encrypted_to(client, idp, old_cert)
    assert response.status_code == 403
    shown, _err = run("show")
    assert "grace period ended" in shown
    settings.SAML_KEY_GRACE_DAYS = 30
    response = sign_in_encrypted_to(client, idp, old_cert)
    assert response.status_code == 302, response.content.decode()[:2000]
