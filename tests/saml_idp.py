"""A pysaml2 IdP for tests: real keys generated at test time, real xmlsec1 signatures and encryption.

Order matters (DESIGN.md "Tests"): IdP metadata first (from an IdP config without metadata), then the SP's
metadata from the real SAML configuration that trusts it, then the IdP `Server` loaded with that SP metadata.
The IdP releases only attributes the SP metadata lists, so test identities use names from
tenants.saml_config.OPTIONAL_ATTRIBUTES.
"""

from __future__ import annotations

import base64
import contextlib
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import parse_qs, urlparse

import saml2
import saml2.assertion
import saml2.entity
import saml2.s_utils
from saml2 import samlp, time_util
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_TRANSIENT
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from tenants.key_files import self_signed_pair

_KEYS: dict[str, tuple[bytes, bytes]] = {}


def key_pair(name: str) -> tuple[bytes, bytes]:
    """One RSA pair per name for the whole test session (generating them is the slow part)."""
    if name not in _KEYS:
        _KEYS[name] = self_signed_pair(name)
    return _KEYS[name]


class TestIdP:
    """One identity provider. Several may share an SSO URL (a rogue IdP answers where the real one does)."""

    __test__ = False  # not a pytest test class

    def __init__(
        self,
        *,
        entity_id: str,
        sso_url: str,
        scopes: list[str],
        key_name: str,
        workdir: Path,
        xmlsec_binary: str = "/usr/bin/xmlsec1",
    ) -> None:
        self.entity_id = entity_id
        self.sso_url = sso_url
        self.scopes = scopes
        self.xmlsec_binary = xmlsec_binary
        key_pem, cert_pem = key_pair(key_name)
        workdir.mkdir(parents=True, exist_ok=True)
        self.key_file = workdir / f"{key_name}.key"
        self.cert_file = workdir / f"{key_name}.crt"
        self.key_file.write_bytes(key_pem)
        self.cert_file.write_bytes(cert_pem)
        self.sp_metadata: str | None = None
        self._server: Server | None = None

    def config(self, *, sp_metadata: str | None = None) -> dict[str, Any]:
        conf: dict[str, Any] = {
            "entityid": self.entity_id,
            "xmlsec_binary": self.xmlsec_binary,
            "crypto_backend": "xmlsec1",
            "service": {
                "idp": {
                    "name": f"test IdP {self.entity_id}",
                    "endpoints": {"single_sign_on_service": [(self.sso_url, saml2.BINDING_HTTP_REDIRECT)]},
                    "scope": self.scopes,
                    "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                    "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}},
                }
            },
            "key_file": str(self.key_file),
            "cert_file": str(self.cert_file),
            "signing_algorithm": SIG_RSA_SHA256,
            "digest_algorithm": DIGEST_SHA256,
        }
        if sp_metadata is not None:
            conf["metadata"] = {"inline": [sp_metadata]}
        return conf

    def metadata_xml(self) -> str:
        conf = IdPConfig()
        conf.load(self.config())
        return str(entity_descriptor(conf))

    def server(self) -> Server:
        if self.sp_metadata is None:
            raise RuntimeError("load_sp() first: the IdP must know the SP's metadata")
        if self._server is None:
            conf = IdPConfig()
            conf.load(self.config(sp_metadata=self.sp_metadata))
            self._server = Server(config=conf)
        return self._server

    def load_sp(self, sp_metadata: str) -> None:
        self.sp_metadata = sp_metadata
        self._server = None

    def read_request(self, redirect_url: str) -> Any:
        """Parse the AuthnRequest an SP redirected to (checks it was destined for this IdP)."""
        query = parse_qs(urlparse(redirect_url).query)
        return self.server().parse_authn_request(query["SAMLRequest"][0], saml2.BINDING_HTTP_REDIRECT).message

    def response_xml(
        self,
        attributes: dict[str, list[str]],
        *,
        in_response_to: str,
        sp_entity_id: str,
        sign_response: bool = True,
        sign_assertion: bool = False,
        encrypt: bool = True,
        seconds_ago: int = 0,
        sign_alg: str = SIG_RSA_SHA256,
        digest_alg: str = DIGEST_SHA256,
        encrypt_to: bytes | None = None,
    ) -> str:
        """An edu-ID-shaped response by default: signed Response, unsigned encrypted Assertion.

        `seconds_ago` makes the IdP issue it as if its clock were that far behind (negative: ahead).
        `encrypt_to` (a PEM certificate) replaces the first encryption certificate of the SP's metadata."""
        with idp_clock(seconds_ago):
            return self._response_xml(
                attributes,
                in_response_to=in_response_to,
                sp_entity_id=sp_entity_id,
                sign_response=sign_response,
                sign_assertion=sign_assertion,
                encrypt=encrypt,
                sign_alg=sign_alg,
                digest_alg=digest_alg,
                encrypt_to=encrypt_to,
            )

    def _response_xml(
        self,
        attributes: dict[str, list[str]],
        *,
        in_response_to: str,
        sp_entity_id: str,
        sign_response: bool,
        sign_assertion: bool,
        encrypt: bool,
        sign_alg: str,
        digest_alg: str,
        encrypt_to: bytes | None,
    ) -> str:
        server = self.server()
        _binding, destination = server.pick_binding(
            "assertion_consumer_service", bindings=[saml2.BINDING_HTTP_POST], entity_id=sp_entity_id
        )
        certs = server.metadata.certs(sp_entity_id, "spsso", "encryption")
        encryption_cert = certs[0][1] if encrypt_to is None else pem_body(encrypt_to)
        subject = (attributes.get("subject-id") or attributes.get("pairwise-id") or ["someone"])[0]
        response = server.create_authn_response(
            attributes,
            in_response_to=in_response_to,
            destination=destination,
            sp_entity_id=sp_entity_id,
            userid=subject,
            name_id_policy=saml2.samlp.NameIDPolicy(format=NAMEID_FORMAT_TRANSIENT, allow_create="true"),
            authn={"class_ref": saml2.saml.AUTHN_PASSWORD_PROTECTED, "authn_auth": self.entity_id},
            sign_response=sign_response,
            sign_assertion=sign_assertion,
            encrypt_assertion=encrypt,
            encrypt_assertion_self_contained=True,
            encrypt_cert_assertion=encryption_cert if encrypt else None,
            # pysaml2 signs with rsa-sha1 unless told otherwise (its configured algorithm is not used here).
            sign_alg=sign_alg,
            digest_alg=digest_alg,
        )
        return str(response)


@contextlib.contextmanager
def idp_clock(seconds_ago: int) -> Iterator[None]:
    """Shift the clock pysaml2's IdP side reads (IssueInstant, NotBefore, NotOnOrAfter), not the SP's."""
    if not seconds_ago:
        yield
        return
    offset = seconds_ago

    def instant(format: str = time_util.TIME_FORMAT, time_stamp: int = 0) -> str:
        return time_util.instant(format, time_stamp or int(time.time()) - offset)

    def in_a_while(**delta: Any) -> str:
        delta["seconds"] = delta.get("seconds", 0) - offset
        return time_util.in_a_while(**delta)

    with contextlib.ExitStack() as stack:
        for module in (saml2.assertion, saml2.entity, saml2.s_utils):
            stack.enter_context(mock.patch.object(module, "instant", instant))
        stack.enter_context(mock.patch.object(saml2.assertion, "in_a_while", in_a_while))
        yield


def pem_body(pem: bytes) -> str:
    """The base64 text of a PEM certificate, as metadata carries it."""
    return "".join(line for line in pem.decode("ascii").splitlines() if line and not line.startswith("-----"))


def encode(xml: str) -> str:
    return base64.b64encode(xml.encode("utf-8")).decode("ascii")


def first_assertion(xml: str) -> str:
    """The plain <saml:Assertion> of an unencrypted response, standalone with its namespaces."""
    assertion = samlp.response_from_string(xml).assertion[0]
    text = assertion.to_string().decode("utf-8")
    return re.sub(r"^<\?xml[^>]*\?>\s*", "", text)
