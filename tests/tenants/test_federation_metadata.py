"""manage.py import_federation_metadata: only a correctly signed, unexpired aggregate is ever installed."""

from __future__ import annotations

import datetime as dt
import http.server
import io
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command

from tenants import saml_config
from tests.conftest import require
from tests.saml_idp import TestIdP, key_pair

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
IDP_ENTITY_ID = "https://idp.federated.example.org/idp/shibboleth"
SIGNATURE_TEMPLATE = """<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#">
    <ds:SignedInfo>
      <ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
      <ds:SignatureMethod Algorithm="http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"/>
      <ds:Reference URI="#{id}">
        <ds:Transforms>
          <ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>
          <ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>
        </ds:Transforms>
        <ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>
        <ds:DigestValue/>
      </ds:Reference>
    </ds:SignedInfo>
    <ds:SignatureValue/>
    <ds:KeyInfo><ds:X509Data><ds:X509Certificate/></ds:X509Data></ds:KeyInfo>
  </ds:Signature>"""


class Federation:
    """A federation operator: signs aggregates with its key, as SWITCHaai does."""

    def __init__(self, workdir: Path, key_name: str = "federation") -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        key_pem, cert_pem = key_pair(key_name)
        self.key = workdir / f"{key_name}.key"
        self.cert = workdir / f"{key_name}.crt"
        self.key.write_bytes(key_pem)
        self.cert.write_bytes(cert_pem)
        self.idp = TestIdP(
            entity_id=IDP_ENTITY_ID,
            sso_url="https://idp.federated.example.org/sso",
            scopes=["federated.example.org"],
            key_name="federated-idp",
            workdir=workdir,
        )

    def aggregate(
        self, *, valid_until: dt.datetime, signed: bool = True, name: str = "aggregate.xml"
    ) -> Path:
        entity = re.sub(r"^<\?xml[^>]*\?>\s*", "", self.idp.metadata_xml())
        signature = SIGNATURE_TEMPLATE.format(id="_agg1") if signed else ""
        document = (
            f'<md:EntitiesDescriptor xmlns:md="{MD}" ID="_agg1" Name="urn:mace:example:federation" '
            f'validUntil="{valid_until.strftime("%Y-%m-%dT%H:%M:%SZ")}">\n  {signature}\n  {entity}\n'
            "</md:EntitiesDescriptor>\n"
        )
        template = self.workdir / f"template-{name}"
        template.write_text(document)
        target = self.workdir / name
        if not signed:
            shutil.copy(template, target)
            return target
        subprocess.run(
            [
                "xmlsec1",
                "--sign",
                "--privkey-pem",
                f"{self.key},{self.cert}",
                "--id-attr:ID",
                f"{MD}:EntitiesDescriptor",
                "--output",
                str(target),
                str(template),
            ],
            check=True,
            capture_output=True,
        )
        return target


@pytest.fixture
def federation(tmp_path: Path, settings: Any) -> Iterator[Federation]:
    require(shutil.which("xmlsec1") is not None, "xmlsec1 (Debian package xmlsec1)")
    fed = Federation(tmp_path)
    sp_key, sp_cert = key_pair("sp")
    (tmp_path / "sp.key").write_bytes(sp_key)
    (tmp_path / "sp.crt").write_bytes(sp_cert)
    installed = tmp_path / "installed" / "federation.xml"
    settings.SAML_FEDERATION_CERT_FILE = str(fed.cert)
    settings.SAML_FEDERATION_METADATA_FILE = str(installed)
    settings.SAML_METADATA_FILES = [str(installed)]
    settings.SAML_KEY_FILE = str(tmp_path / "sp.key")
    settings.SAML_CERT_FILE = str(tmp_path / "sp.crt")
    settings.PORTAL_DEV_IDP = False
    saml_config.clear_config_cache()
    yield fed
    saml_config.clear_config_cache()


def installed_path(settings: Any) -> Path:
    return Path(settings.SAML_FEDERATION_METADATA_FILE)


def in_a_week() -> dt.datetime:
    return dt.datetime.now(dt.UTC) + dt.timedelta(days=7)


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("import_federation_metadata", *args, stdout=out)
    return out.getvalue()


def test_good_signed_aggregate_is_installed_and_used(federation: Federation, settings: Any) -> None:
    source = federation.aggregate(valid_until=in_a_week())
    output = run("--file", str(source))
    assert "installed 1 entities" in output
    assert installed_path(settings).read_bytes() == source.read_bytes()
    # The SP now trusts the IdP, with the scopes from its (verified) metadata.
    metadata = saml_config.load_config().metadata
    assert IDP_ENTITY_ID in list(metadata.keys())  # MetadataStore has no __contains__
    scopes = [scope["text"] for scope in metadata.shibmd_scopes(IDP_ENTITY_ID, typ="idpsso_descriptor")]
    assert scopes == ["federated.example.org"]


def test_new_aggregate_replaces_the_cached_configuration(federation: Federation, settings: Any) -> None:
    run("--file", str(federation.aggregate(valid_until=in_a_week())))
    before = saml_config.load_config()
    run("--file", str(federation.aggregate(valid_until=in_a_week() + dt.timedelta(days=1), name="b.xml")))
    assert saml_config.load_config() is not before


def test_bad_signature_is_refused_and_nothing_is_written(federation: Federation, settings: Any) -> None:
    source = federation.aggregate(valid_until=in_a_week())
    tampered = source.read_text().replace("federated.example.org", "uzh.ch")
    source.write_text(tampered)
    with pytest.raises(CommandError, match="signature does not verify"):
        run("--file", str(source))
    assert not installed_path(settings).exists()


def test_aggregate_signed_by_another_key_is_refused(federation: Federation, tmp_path: Path) -> None:
    rogue = Federation(tmp_path / "rogue", key_name="rogue-federation")
    source = rogue.aggregate(valid_until=in_a_week())
    with pytest.raises(CommandError, match="signature does not verify"):
        run("--file", str(source))


def test_unsigned_aggregate_is_refused(federation: Federation) -> None:
    source = federation.aggregate(valid_until=in_a_week(), signed=False)
    with pytest.raises(CommandError, match="not signed"):
        run("--file", str(source))


def test_expired_aggregate_is_refused_and_the_old_one_kept(federation: Federation, settings: Any) -> None:
    run("--file", str(federation.aggregate(valid_until=in_a_week())))
    good = installed_path(settings).read_bytes()
    expired = federation.aggregate(
        valid_until=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1), name="old.xml"
    )
    with pytest.raises(CommandError, match="expired"):
        run("--file", str(expired))
    assert installed_path(settings).read_bytes() == good


def test_unreadable_file_is_a_clear_error(federation: Federation, tmp_path: Path) -> None:
    with pytest.raises(CommandError, match=r"Cannot read .*missing\.xml"):
        run("--file", str(tmp_path / "missing.xml"))
    garbage = tmp_path / "garbage.xml"
    garbage.write_text("<not-closed>")
    with pytest.raises(CommandError, match="Not well-formed XML"):
        run("--file", str(garbage))


def test_xml_bombs_are_refused(federation: Federation, tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>')
    with pytest.raises(CommandError, match="unsafe XML"):
        run("--file", str(bomb))


def test_missing_federation_certificate_is_a_clear_error(federation: Federation, settings: Any) -> None:
    settings.SAML_FEDERATION_CERT_FILE = ""
    with pytest.raises(CommandError, match="SAML_FEDERATION_CERT_FILE"):
        run("--file", str(federation.aggregate(valid_until=in_a_week())))


def test_aggregate_is_fetched_from_a_url(federation: Federation, settings: Any) -> None:
    source = federation.aggregate(valid_until=in_a_week())
    body = source.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/samlmetadata+xml")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        run("--url", f"http://127.0.0.1:{server.server_port}/federation.xml")
        with pytest.raises(CommandError, match="Cannot fetch"):
            run("--url", f"http://127.0.0.1:{server.server_port + 1 if server.server_port < 65535 else 1}/x")
    finally:
        server.shutdown()
        server.server_close()
    assert installed_path(settings).read_bytes() == body


def test_signed_aggregate_wrapped_in_an_unsigned_one_is_refused(
    federation: Federation, tmp_path: Path
) -> None:
    """Signature wrapping: a genuine signed aggregate nested in an attacker's document with a rogue IdP."""
    genuine = re.sub(r"^<\?xml[^>]*\?>\s*", "", federation.aggregate(valid_until=in_a_week()).read_text())
    rogue = TestIdP(
        entity_id="https://rogue.example.org/idp",
        sso_url="https://rogue.example.org/sso",
        scopes=["uzh.ch"],
        key_name="rogue-idp",
        workdir=tmp_path / "rogue",
    )
    rogue_entity = re.sub(r"^<\?xml[^>]*\?>\s*", "", rogue.metadata_xml())
    wrapped = tmp_path / "wrapped.xml"
    wrapped.write_text(
        f'<md:EntitiesDescriptor xmlns:md="{MD}" validUntil="{in_a_week().strftime("%Y-%m-%dT%H:%M:%SZ")}">'
        f"{genuine}{rogue_entity}</md:EntitiesDescriptor>"
    )
    with pytest.raises(CommandError, match="not signed"):
        run("--file", str(wrapped))
