"""One IdP without a federation: its metadata file, unsigned, installed only when every signing certificate in
it has a pinned SHA-256 fingerprint (manage.py import_federation_metadata --pin-sha256)."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from tests.saml_idp import key_pair, pem_body
from tests.tenants import test_saml_signin as signin
from tests.tenants.test_saml_signin import SamlWorld, lecturer, sign_in

saml_world = signin.saml_world
saml = signin.saml
uzh = signin.uzh
client = signin.client

MD = "urn:oasis:names:tc:SAML:2.0:metadata"


def fingerprint(name: str, *, colons: bool = True) -> str:
    digest = hashlib.sha256(base64.b64decode(pem_body(key_pair(name)[1]))).hexdigest().upper()
    return ":".join(digest[i : i + 2] for i in range(0, 64, 2)) if colons else digest.lower()


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_federation_metadata", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


@pytest.fixture
def idp_file(saml: SamlWorld, tmp_path: Path) -> Path:
    path = tmp_path / "uzh-idp.xml"
    path.write_text(saml.uzh.metadata_xml())
    return path


def with_extra_signing_cert(xml: str, key_name: str) -> str:
    extra = (
        f'<md:KeyDescriptor xmlns:md="{MD}" use="signing"><ds:KeyInfo '
        'xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>'
        f"{pem_body(key_pair(key_name)[1])}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>"
    )
    return re.sub(r"(<\w+:IDPSSODescriptor[^>]*>)", lambda m: m.group(1) + extra, xml, count=1)


@pytest.mark.django_db
def test_pinned_idp_metadata_is_installed_and_signs_people_in(
    saml: SamlWorld, uzh: Any, client: Client, idp_file: Path, tmp_path: Path, settings: Any
) -> None:
    target = tmp_path / "installed" / "uzh.xml"
    settings.SAML_METADATA_FILES = [str(target)]  # the pinned IdP is the only one trusted
    out, err = run("--file", str(idp_file), "--pin-sha256", fingerprint("uzh"), "--output", str(target))
    assert "installed https://idp.uzh.example.org/idp/shibboleth" in out
    assert "no validUntil" in err  # said, not refused
    assert target.read_bytes() == idp_file.read_bytes()
    response = sign_in(client, lecturer(), idp=saml.uzh)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert response["Location"] == "/uzh/"


def test_plain_hex_and_openssl_output_are_accepted(idp_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.xml"
    run("--file", str(idp_file), "--pin-sha256", fingerprint("uzh", colons=False), "--output", str(target))
    target.unlink()
    pin = f"sha256 Fingerprint={fingerprint('uzh')}"
    run("--file", str(idp_file), "--pin-sha256", pin, "--output", str(target))
    assert target.exists()


def test_mismatching_fingerprint_is_refused_and_nothing_installed(idp_file: Path, tmp_path: Path) -> None:
    target = tmp_path / "out.xml"
    target.write_text("previous")
    with pytest.raises(CommandError, match="not pinned; nothing was installed") as refused:
        run("--file", str(idp_file), "--pin-sha256", fingerprint("rogue"), "--output", str(target))
    assert fingerprint("uzh") in str(refused.value)  # names what it found, to compare with the IdP's word
    assert target.read_text() == "previous"


def test_every_signing_certificate_must_match_a_pin(idp_file: Path, tmp_path: Path) -> None:
    two_keys = tmp_path / "two-keys.xml"
    two_keys.write_text(with_extra_signing_cert(idp_file.read_text(), "rogue"))
    target = tmp_path / "out.xml"
    with pytest.raises(CommandError, match="not pinned"):
        run("--file", str(two_keys), "--pin-sha256", fingerprint("uzh"), "--output", str(target))
    assert not target.exists()
    # Both pinned (an IdP rolling its key over): accepted.
    out, _err = run(
        "--file", str(two_keys), "--pin-sha256", fingerprint("uzh"), "--pin-sha256", fingerprint("rogue"),
        "--output", str(target),
    )  # fmt: skip
    assert "2 signing certificate(s)" in out


def test_expired_pinned_metadata_is_refused(idp_file: Path, tmp_path: Path) -> None:
    expired = tmp_path / "expired.xml"
    expired.write_text(
        re.sub(r"(<\w+:EntityDescriptor )", r'\1validUntil="2020-01-01T00:00:00Z" ', idp_file.read_text())
    )
    with pytest.raises(CommandError, match="expired"):
        run("--file", str(expired), "--pin-sha256", fingerprint("uzh"), "--output", str(tmp_path / "o.xml"))
    assert not (tmp_path / "o.xml").exists()


def test_an_aggregate_is_not_a_single_idp(saml: SamlWorld, tmp_path: Path) -> None:
    entities = [re.sub(r"^<\?xml[^>]*\?>\s*", "", idp.metadata_xml()) for idp in (saml.uzh, saml.hub)]
    aggregate = tmp_path / "two.xml"
    aggregate.write_text(
        f'<md:EntitiesDescriptor xmlns:md="{MD}">{"".join(entities)}</md:EntitiesDescriptor>'
    )
    with pytest.raises(CommandError, match="exactly one IdP"):
        run("--file", str(aggregate), "--pin-sha256", fingerprint("uzh"), "--output", str(tmp_path / "o.xml"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--pin-sha256", "abc"], "Not a SHA-256 fingerprint"),
        (["--pin-sha256", "ab" * 32], "--output"),
        (["--pin-sha256", "ab" * 32, "--cert", "/x.crt"], "exclude each other"),
    ],
)
def test_bad_invocations_are_clear_errors(idp_file: Path, args: list[str], message: str) -> None:
    if "--output" not in args and message != "--output":
        args = [*args, "--output", str(idp_file.parent / "o.xml")]
    with pytest.raises(CommandError, match=message):
        run("--file", str(idp_file), *args)
