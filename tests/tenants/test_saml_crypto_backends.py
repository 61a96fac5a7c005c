"""What an in-process verifier could get wrong, tried against both backends (portal/adapters/pysaml2.py).

Every document here is signed or encrypted for real (libxmlsec1 through the xmlsec binding, or the pysaml2
test IdP through xmlsec1) and then attacked; `xmlsec1` is the reference the in-process backend must match or
be stricter than. The end-to-end refusals (tampering, unsigned, wrapping, replay...) run with both backends in
test_saml_signin.py.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import saml2
import xmlsec
from lxml import etree
from saml2 import samlp
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.sigver import SigverError

from portal.adapters.pysaml2 import InProcessBackend, MemoXmlSec1Backend
from tests.conftest import require
from tests.saml_idp import TestIdP, key_pair

SAMLP = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
RESPONSE = f"{SAMLP}:Response"
ASSERTION = f"{SAML}:Assertion"
IDP = "https://idp.uzh.example.org/idp/shibboleth"
SP = "https://sp.example.org/saml2/metadata/"
XENC = "http://www.w3.org/2001/04/xmlenc#"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
XSLT = "http://www.w3.org/TR/1999/REC-xslt-19991116"
XPATH = "http://www.w3.org/TR/1999/REC-xpath-19991116"


class Keys:
    def __init__(self, workdir: Path) -> None:
        self.files: dict[str, tuple[str, str]] = {}
        for name in ("uzh", "rogue", "sp"):
            key_pem, cert_pem = key_pair(name)
            (workdir / f"{name}.key").write_bytes(key_pem)
            (workdir / f"{name}.crt").write_bytes(cert_pem)
            self.files[name] = (str(workdir / f"{name}.key"), str(workdir / f"{name}.crt"))

    def key(self, name: str) -> str:
        return self.files[name][0]

    def cert(self, name: str) -> str:
        return self.files[name][1]


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("crypto-keys"))


@pytest.fixture(params=["inprocess", "xmlsec1"])
def backend(request: pytest.FixtureRequest) -> MemoXmlSec1Backend:
    require(shutil.which("xmlsec1") is not None, "xmlsec1 (Debian package xmlsec1)")
    kind = InProcessBackend if request.param == "inprocess" else MemoXmlSec1Backend
    return kind("/usr/bin/xmlsec1")


@pytest.fixture
def inprocess() -> InProcessBackend:
    return InProcessBackend("/usr/bin/xmlsec1")


def response_xml(response_id: str = "_r1", *, extra: str = "", name_id: str = "someone@uzh.ch") -> str:
    return (
        f'<samlp:Response xmlns:samlp="{SAMLP}" xmlns:saml="{SAML}" ID="{response_id}" Version="2.0" '
        f'IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>{IDP}</saml:Issuer>{extra}'
        f'<samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>'
        f'<saml:Assertion ID="_a1" Version="2.0" IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>{IDP}'
        f"</saml:Issuer><saml:Subject><saml:NameID>{name_id}</saml:NameID></saml:Subject></saml:Assertion>"
        "</samlp:Response>"
    )


def sign(
    xml: str,
    keys: Keys,
    *,
    signer: str = "uzh",
    uri: str | None = None,
    with_cert: bool = False,
    ids: tuple[str, ...] = ("_r1",),
    prefixes: str = "",
) -> str:
    """Sign the root with an enveloped signature (exclusive c14n, RSA-SHA256), as an IdP does."""
    root = etree.fromstring(xml.encode())
    signature = xmlsec.template.create(
        root, xmlsec.constants.TransformExclC14N, xmlsec.constants.TransformRsaSha256, ns="ds"
    )
    root.insert(1, signature)
    reference = xmlsec.template.add_reference(
        signature, xmlsec.constants.TransformSha256, uri=uri if uri is not None else f"#{root.get('ID')}"
    )
    xmlsec.template.add_transform(reference, xmlsec.constants.TransformEnveloped)
    c14n = xmlsec.template.add_transform(reference, xmlsec.constants.TransformExclC14N)
    if prefixes:  # as Shibboleth IdPs (edu-ID) sign
        etree.SubElement(c14n, f"{{{EXC_C14N}}}InclusiveNamespaces", PrefixList=prefixes)
    if with_cert:
        xmlsec.template.add_x509_data(xmlsec.template.ensure_key_info(signature))
    context = xmlsec.SignatureContext()
    key = xmlsec.Key.from_file(keys.key(signer), xmlsec.constants.KeyDataFormatPem)
    key.load_cert_from_file(keys.cert(signer), xmlsec.constants.KeyDataFormatCertPem)
    context.key = key
    for element in root.iter():
        if element.get("ID") in ids:
            context.register_id(element, "ID")
    context.sign(signature)
    return etree.tostring(root, encoding="unicode")


def verdict(check: Callable[[], Any]) -> bool:
    """True when the backend accepted; pysaml2 treats an exception or False as a failed check."""
    try:
        return bool(check())
    except SigverError:
        return False


def verify(
    backend: MemoXmlSec1Backend, text: str, cert: str, node_id: str = "_r1", node: str = RESPONSE
) -> bool:
    return verdict(lambda: backend.validate_signature(text, cert, "pem", node, node_id))


def test_a_genuine_signature_is_accepted_and_any_change_refused(
    backend: MemoXmlSec1Backend, keys: Keys
) -> None:
    signed = sign(response_xml(), keys)
    assert verify(backend, signed, keys.cert("uzh"))
    assert not verify(backend, signed.replace("someone@uzh.ch", "other@uzh.ch"), keys.cert("uzh"))
    assert not verify(backend, signed, keys.cert("rogue"))  # only the metadata's certificate counts


def test_an_inclusive_namespaces_prefix_list_is_accepted(backend: MemoXmlSec1Backend, keys: Keys) -> None:
    """Shibboleth IdPs (edu-ID) name prefixes to keep in exclusive c14n; only that parameter is allowed."""
    signed = sign(response_xml(), keys, prefixes="xs saml")
    assert "PrefixList" in signed
    assert verify(backend, signed, keys.cert("uzh"))
    assert not verify(backend, signed.replace('PrefixList="xs saml"', 'PrefixList="xs"'), keys.cert("uzh"))


def test_a_key_in_the_message_is_never_used(backend: MemoXmlSec1Backend, keys: Keys) -> None:
    """Signed by an attacker who puts their own certificate into KeyInfo: only the pinned one is tried."""
    signed = sign(response_xml(), keys, signer="rogue", with_cert=True)
    assert "X509Certificate" in signed
    assert not verify(backend, signed, keys.cert("uzh"))


def test_a_reference_to_another_element_is_refused(inprocess: InProcessBackend, keys: Keys) -> None:
    """Wrapping: a valid signature over some other element of the document does not vouch for the Response.
    (xmlsec1 itself would accept it; pysaml2 refuses it on its own reading, the in-process check does too.)"""
    signed = sign(response_xml(), keys, uri="#_a1", ids=("_a1",))
    assert not verify(inprocess, signed, keys.cert("uzh"))
    assert (
        verify(inprocess, signed, keys.cert("uzh"), node_id="_a1", node=ASSERTION) is False
    )  # not its child


@pytest.mark.parametrize(
    "uri",
    [
        "http://127.0.0.1:9/signed.xml",
        "file:///etc/hostname",
        "",
        "#xpointer(id('_r1'))",
        "#xpointer(/)",
    ],
)
def test_remote_whole_document_and_xpointer_references_are_refused(
    backend: MemoXmlSec1Backend, keys: Keys, uri: str
) -> None:
    signed = sign(response_xml(), keys).replace('URI="#_r1"', f'URI="{uri}"')
    assert not verify(backend, signed, keys.cert("uzh"))


@pytest.mark.parametrize("algorithm", [XSLT, XPATH, "http://www.w3.org/2002/06/xmldsig-filter2"])
def test_transforms_beyond_saml_are_refused(inprocess: InProcessBackend, keys: Keys, algorithm: str) -> None:
    signed = sign(response_xml(), keys)
    transform = f'<ds:Transform Algorithm="{algorithm}"/>'
    attacked = signed.replace("<ds:Transforms>", f"<ds:Transforms>{transform}", 1)
    assert attacked != signed
    assert not verify(inprocess, attacked, keys.cert("uzh"))


def test_a_transform_with_an_expression_is_refused(inprocess: InProcessBackend, keys: Keys) -> None:
    root = etree.fromstring(sign(response_xml(), keys, prefixes="xs").encode())
    c14n = next(t for t in root.iter(f"{{{DS}}}Transform") if t.get("Algorithm") == EXC_C14N)
    etree.SubElement(c14n, f"{{{DS}}}XPath").text = "1"
    assert not verify(inprocess, etree.tostring(root, encoding="unicode"), keys.cert("uzh"))


def test_a_duplicate_id_is_refused(backend: MemoXmlSec1Backend, keys: Keys) -> None:
    """The genuine signed Response hidden inside a forged one with the same ID."""
    genuine = sign(response_xml(), keys)
    hidden = genuine.replace("<samlp:Response ", "<samlp:Response ", 1)
    forged = response_xml(extra=f"<samlp:Extensions>{hidden}</samlp:Extensions>", name_id="boss@uzh.ch")
    assert not verify(backend, forged, keys.cert("uzh"))


def test_a_document_type_declaration_is_refused(inprocess: InProcessBackend, keys: Keys) -> None:
    signed = sign(response_xml(), keys)
    with_dtd = f"<!DOCTYPE samlp:Response [<!ATTLIST samlp:Response ID ID #IMPLIED>]>{signed}"
    assert not verify(inprocess, with_dtd, keys.cert("uzh"))


def test_a_comment_inside_the_name_id_neither_breaks_the_signature_nor_cuts_the_value(
    backend: MemoXmlSec1Backend, keys: Keys
) -> None:
    """Exclusive c14n drops comments, so a comment added after signing keeps the signature valid: what
    matters is that pysaml2 then reads the whole value, not the part before the comment."""
    signed = sign(response_xml(name_id="alice@uzh.ch.evil.example"), keys)
    commented = signed.replace("alice@uzh.ch.evil.example", "alice@uzh.ch<!---->.evil.example")
    assert verify(backend, commented, keys.cert("uzh"))
    assert (
        samlp.response_from_string(commented).assertion[0].subject.name_id.text == "alice@uzh.ch.evil.example"
    )


# --- decryption --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def encrypted_response(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> str:
    """An edu-ID-shaped response from the pysaml2 test IdP: the Assertion encrypted to the SP's key."""
    require(shutil.which("xmlsec1") is not None, "xmlsec1 (Debian package xmlsec1)")
    work = tmp_path_factory.mktemp("crypto-idp")
    idp = TestIdP(
        entity_id=IDP,
        sso_url="https://idp.uzh.example.org/sso",
        scopes=["uzh.ch"],
        key_name="uzh",
        workdir=work,
    )
    sp = SPConfig()
    sp.load(
        {
            "entityid": SP,
            "xmlsec_binary": "/usr/bin/xmlsec1",
            "service": {
                "sp": {"endpoints": {"assertion_consumer_service": [(f"{SP}acs/", saml2.BINDING_HTTP_POST)]}}
            },
            "key_file": keys.key("sp"),
            "cert_file": keys.cert("sp"),
            "encryption_keypairs": [{"key_file": keys.key("sp"), "cert_file": keys.cert("sp")}],
        }
    )
    idp.load_sp(str(entity_descriptor(sp)))
    return idp.response_xml({"givenName": ["Lena"]}, in_response_to="_req1", sp_entity_id=SP)


def test_decryption_gives_the_same_assertion_as_xmlsec1(encrypted_response: str, keys: Keys) -> None:
    assert "Lena" not in encrypted_response
    ours = InProcessBackend("/usr/bin/xmlsec1").decrypt(encrypted_response, keys.key("sp"))
    reference = MemoXmlSec1Backend("/usr/bin/xmlsec1").decrypt(encrypted_response, keys.key("sp"))
    assert "Lena" in ours
    assert str(samlp.response_from_string(ours)) == str(samlp.response_from_string(reference))


def test_a_peer_encrypted_key_found_by_retrieval_method_is_decrypted(
    backend: MemoXmlSec1Backend, encrypted_response: str, keys: Keys
) -> None:
    """OpenSAML may place the EncryptedKey beside the EncryptedData and point to it by ID."""
    root = etree.fromstring(encrypted_response.encode())
    data = next(root.iter(f"{{{XENC}}}EncryptedData"))
    encrypted_key = next(data.iter(f"{{{XENC}}}EncryptedKey"))
    key_info = encrypted_key.getparent()
    assert key_info is not None
    key_info.remove(encrypted_key)
    encrypted_key.set("Id", "_k1")
    etree.SubElement(key_info, f"{{{DS}}}RetrievalMethod", URI="#_k1", Type=f"{XENC}EncryptedKey")
    data.addnext(encrypted_key)
    peer = etree.tostring(root, encoding="unicode")
    assert "Lena" in backend.decrypt(peer, keys.key("sp"))
    remote = peer.replace('URI="#_k1"', 'URI="http://127.0.0.1:9/key"')
    assert not verdict(lambda: backend.decrypt(remote, keys.key("sp")))


def test_an_assertion_encrypted_to_another_key_is_not_decrypted(
    backend: MemoXmlSec1Backend, encrypted_response: str, keys: Keys
) -> None:
    assert not verdict(lambda: backend.decrypt(encrypted_response, keys.key("rogue")))


def test_ciphertext_from_a_uri_is_refused(
    inprocess: InProcessBackend, encrypted_response: str, keys: Keys
) -> None:
    root = etree.fromstring(encrypted_response.encode())
    cipher_data = next(root.iter(f"{{{XENC}}}CipherData"))
    for child in list(cipher_data):
        cipher_data.remove(child)
    etree.SubElement(cipher_data, f"{{{XENC}}}CipherReference", URI="file:///etc/hostname")
    assert not verdict(lambda: inprocess.decrypt(etree.tostring(root, encoding="unicode"), keys.key("sp")))


def test_the_same_ciphertext_is_decrypted_once_per_client(
    backend: MemoXmlSec1Backend, encrypted_response: str, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pysaml2 decrypts an edu-ID response twice (it verifies again after the unsigned assertion)."""
    calls: list[str] = []
    real = type(backend).decrypt_once

    def counting(self: MemoXmlSec1Backend, enctext: str, key_file: str) -> str:
        calls.append(key_file)
        return real(self, enctext, key_file)

    monkeypatch.setattr(type(backend), "decrypt_once", counting)
    first = backend.decrypt(encrypted_response, keys.key("sp"))
    assert backend.decrypt(encrypted_response, keys.key("sp")) == first
    assert len(calls) == 1
    assert not verdict(lambda: backend.decrypt(encrypted_response, keys.key("rogue")))
    assert not verdict(lambda: backend.decrypt(encrypted_response, keys.key("rogue")))
    assert len(calls) == 3  # failures are not remembered
