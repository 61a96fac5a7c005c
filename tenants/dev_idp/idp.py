"""The development IdP itself: keys in var/dev-idp/, metadata, and a pysaml2 Server that knows our SP."""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import saml2
from django.conf import settings
from saml2.config import IdPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAME_FORMAT_URI, NAMEID_FORMAT_TRANSIENT
from saml2.server import Server
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

from portal.process_cache import LocalCache
from tenants.identity import read_identity, record_saml_sign_in
from tenants.key_files import ensure_key_pair
from tenants.saml_config import sp_metadata_xml

SCOPE = "demo.example.org"


@dataclass(frozen=True)
class DevUser:
    username: str
    given_name: str
    surname: str
    affiliation: str

    @property
    def subject_id(self) -> str:
        return f"{self.username}@{SCOPE}"

    def attributes(self) -> dict[str, list[str]]:
        """What edu-ID would release about this person (pysaml2 friendly names)."""
        return {
            "subject-id": [self.subject_id],
            "swissEduPersonUniqueID": [f"{self.username}-0001@{SCOPE}"],
            "eduPersonPrincipalName": [f"{self.username}@{SCOPE}"],
            "swissEduPersonHomeOrganization": [SCOPE],
            "schacHomeOrganization": [SCOPE],
            "eduPersonAffiliation": [self.affiliation, "member"],
            "eduPersonScopedAffiliation": [f"{self.affiliation}@{SCOPE}", f"member@{SCOPE}"],
            "givenName": [self.given_name],
            "sn": [self.surname],
            "displayName": [f"{self.given_name} {self.surname}"],
            "mail": [f"{self.username}@{SCOPE}"],
            "preferredLanguage": ["en"],
        }


USERS: dict[str, DevUser] = {
    user.username: user
    for user in (
        DevUser("lecturer", "Lena", "Lecturer", "faculty"),
        DevUser("student", "Sam", "Student", "student"),
        DevUser("admin", "Ada", "Admin", "staff"),
    )
}

_lock = threading.Lock()
_servers: LocalCache[Server] = LocalCache(
    "development idp",
    max_age=float("inf"),
    limit=1,
    holds="the development IdP with the SP metadata",
)


def base_url() -> str:
    return f"{str(settings.PUBLIC_URL).rstrip('/')}/dev-idp"


def entity_id() -> str:
    return f"{base_url()}/metadata/"


def sso_url() -> str:
    return f"{base_url()}/sso/"


def slo_url() -> str:
    return f"{base_url()}/slo/"


def key_pair() -> tuple[str, str]:
    directory = Path(settings.VAR_DIR) / "dev-idp"
    return ensure_key_pair(directory / "idp.key", directory / "idp.crt", common_name="auditorium dev IdP")


def config_dict(*, sp_metadata: str | None = None) -> dict[str, Any]:
    key_file, cert_file = key_pair()
    conf: dict[str, Any] = {
        "entityid": entity_id(),
        "xmlsec_binary": settings.XMLSEC_BINARY,
        "crypto_backend": "xmlsec1",
        "service": {
            "idp": {
                "name": "auditorium development IdP",
                "endpoints": {
                    "single_sign_on_service": [(sso_url(), saml2.BINDING_HTTP_REDIRECT)],
                    "single_logout_service": [(slo_url(), saml2.BINDING_HTTP_REDIRECT)],
                },
                # Published as <shibmd:Scope>: the SP accepts home organisations only within it.
                "scope": [SCOPE],
                "name_id_format": [NAMEID_FORMAT_TRANSIENT],
                "policy": {"default": {"lifetime": {"minutes": 5}, "name_form": NAME_FORMAT_URI}},
            }
        },
        "key_file": key_file,
        "cert_file": cert_file,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
    }
    if sp_metadata is not None:
        conf["metadata"] = {"inline": [sp_metadata]}
    return conf


def idp_metadata_xml() -> str:
    """The IdP's metadata, built from its configuration without any SP metadata (nothing circular)."""
    conf = IdPConfig()
    conf.load(config_dict())
    return str(entity_descriptor(conf))


def inline_metadata() -> str | None:
    """The IdP's metadata for the SP's configuration while the development IdP is switched on."""
    return idp_metadata_xml() if settings.PORTAL_DEV_IDP else None


def get_server() -> Server:
    """The IdP, loaded with our SP's metadata; built once per process."""
    with _lock:  # built once, not by every thread that asks at the same time
        return _servers.get("idp", (), _build_server)


def _build_server() -> Server:
    conf = IdPConfig()
    conf.load(config_dict(sp_metadata=sp_metadata_xml()))
    return Server(config=conf)


def clear_server_cache() -> None:
    _servers.clear()


def sp_encryption_cert(server: Server, sp_entity_id: str) -> str | None:
    """The SP's encryption certificate from its metadata (use="encryption"), as edu-ID would pick it."""
    certs = server.metadata.certs(sp_entity_id, "spsso", "encryption")
    return certs[0][1] if certs else None


def respond(*, request_xml: str, binding: str, user: DevUser) -> tuple[str, dict[str, str]]:
    """Answer an AuthnRequest for `user`: (ACS URL, form fields) of a signed Response, encrypted assertion."""
    server = get_server()
    parsed = server.parse_authn_request(request_xml, binding)
    request = parsed.message
    sp_entity_id = request.issuer.text
    _binding, destination = server.pick_binding(
        "assertion_consumer_service",
        bindings=[saml2.BINDING_HTTP_POST],
        entity_id=sp_entity_id,
        request=request,
    )
    response = server.create_authn_response(
        user.attributes(),
        in_response_to=request.id,
        destination=destination,
        sp_entity_id=sp_entity_id,
        name_id_policy=request.name_id_policy,
        userid=user.subject_id,
        authn={"class_ref": saml2.saml.AUTHN_PASSWORD_PROTECTED, "authn_auth": entity_id()},
        sign_response=True,
        sign_assertion=False,
        encrypt_assertion=True,
        encrypt_assertion_self_contained=True,
        encrypt_cert_assertion=sp_encryption_cert(server, sp_entity_id),
        # pysaml2 signs with rsa-sha1 unless told otherwise; the SP refuses SHA-1.
        sign_alg=SIG_RSA_SHA256,
        digest_alg=DIGEST_SHA256,
    )
    return destination, {"SAMLResponse": base64.b64encode(str(response).encode()).decode("ascii")}


def logout(*, query: dict[str, str]) -> str:
    """Answer the SP's signed LogoutRequest (HTTP-Redirect): the URL of a signed LogoutResponse back to it."""
    server = get_server()
    request = server.parse_logout_request(
        query["SAMLRequest"],
        saml2.BINDING_HTTP_REDIRECT,
        relay_state=query.get("RelayState"),
        sigalg=query.get("SigAlg"),
        signature=query.get("Signature"),
    )
    if request is None:
        raise ValueError("unreadable LogoutRequest")
    response = server.create_logout_response(request.message, [saml2.BINDING_HTTP_REDIRECT])
    _binding, destination = server.pick_binding(
        "single_logout_service",
        bindings=[saml2.BINDING_HTTP_REDIRECT],
        entity_id=request.message.issuer.text,
    )
    http_args = server.apply_binding(
        saml2.BINDING_HTTP_REDIRECT,
        str(response),
        destination,
        query.get("RelayState", ""),
        response=True,
        sign=True,
        sigalg=SIG_RSA_SHA256,
    )
    return str(dict(http_args["headers"])["Location"])


def record_person(username: str) -> tuple[Any, Any]:
    """Record a demo person exactly as their first sign-in through this IdP would (for the seed commands),
    so that seeded rooms belong to the user who signs in as them."""
    identity = read_identity(issuer=entity_id(), attributes=USERS[username].attributes())
    return record_saml_sign_in(identity=identity)
