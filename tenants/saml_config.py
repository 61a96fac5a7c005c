"""The SP configuration for djangosaml2: built once per process and cached.

The rules follow CONTRACTS.md §4 (SWITCH edu-ID): a signed Response is required, the Assertion may be unsigned
but is then encrypted to us, unsolicited responses are refused (that is what defeats replay and login CSRF),
60 s of clock skew is allowed, and only keys found in the (verified) metadata are trusted.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from pathlib import Path
from typing import Any

import saml2
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from saml2.config import SPConfig
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT
from saml2.xmldsig import DIGEST_SHA256, SIG_RSA_SHA256

# What the SP asks for in its metadata; an IdP releases only attributes listed here. All are optional because
# an IdP releases either swissEduPersonHomeOrganization or schacHomeOrganization, and one of several keys.
REQUIRED_ATTRIBUTES: list[str] = []
OPTIONAL_ATTRIBUTES = [
    "swissEduPersonHomeOrganization",
    "subject-id",
    "swissEduPersonUniqueID",
    "eduPersonUniqueId",
    "pairwise-id",
    "eduPersonPrincipalName",
    "schacHomeOrganization",
    "eduPersonAffiliation",
    "eduPersonScopedAffiliation",
    "eduPersonEntitlement",
    "mail",
    "givenName",
    "sn",
    "displayName",
    "preferredLanguage",
]

_lock = threading.Lock()
_cached: tuple[tuple[Any, ...], SPConfig] | None = None


def load_config(request: Any = None) -> SPConfig:
    """djangosaml2's SAML_CONFIG_LOADER: the same SPConfig for every request of this process.

    Rebuilt when a metadata file changes on disk, so that every server process picks up what
    `import_federation_metadata` installed (it replaces the file atomically) without a restart, and when
    the settings it is built from change (tests override them)."""
    global _cached
    stamp = metadata_stamp()
    cached = _cached
    if cached is not None and cached[0] == stamp:
        return cached[1]
    with _lock:
        if _cached is None or _cached[0] != stamp:
            _cached = (stamp, build_config())
        return _cached[1]


def metadata_stamp() -> tuple[Any, ...]:
    stamp: list[Any] = [
        str(settings.PUBLIC_URL),
        sp_entity_id(),
        settings.SAML_KEY_FILE,
        settings.SAML_CERT_FILE,
        settings.PORTAL_DEV_IDP,
        str(settings.VAR_DIR) if settings.PORTAL_DEV_IDP else "",
        settings.XMLSEC_BINARY,
    ]
    for path in settings.SAML_METADATA_FILES:
        try:
            info = os.stat(path)
        except OSError:
            stamp.append((str(path), None, None, None))
        else:
            stamp.append((str(path), info.st_ino, info.st_mtime_ns, info.st_size))
    return tuple(stamp)


def clear_config_cache() -> None:
    """Forget the cached configuration (after new metadata was imported, or settings changed in tests)."""
    global _cached
    with _lock:
        _cached = None
    from tenants.dev_idp import idp as dev_idp

    dev_idp.clear_server_cache()


def public_url() -> str:
    return str(settings.PUBLIC_URL).rstrip("/")


def sp_entity_id() -> str:
    return str(getattr(settings, "SAML_ENTITY_ID", "") or f"{public_url()}/saml2/metadata/")


def config_dict() -> dict[str, Any]:
    """The pysaml2 SP configuration as a dict (metadata included)."""
    key_file, cert_file = sp_key_pair()
    base = public_url()
    metadata: dict[str, list[Any]] = {}
    files = [str(path) for path in settings.SAML_METADATA_FILES]
    if files:
        metadata["local"] = files
    if settings.PORTAL_DEV_IDP:
        from tenants.dev_idp import idp as dev_idp

        metadata["inline"] = [dev_idp.idp_metadata_xml()]
    if not metadata:
        raise ImproperlyConfigured(
            "No IdP metadata: set SAML_METADATA_FILES (see manage.py import_federation_metadata) "
            "or PORTAL_DEV_IDP=1 for development."
        )
    return {
        "entityid": sp_entity_id(),
        "xmlsec_binary": settings.XMLSEC_BINARY,
        "crypto_backend": "xmlsec1",
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "name": "auditorium",
                "name_id_format": [NAMEID_FORMAT_TRANSIENT, NAMEID_FORMAT_PERSISTENT],
                "endpoints": {
                    "assertion_consumer_service": [(f"{base}/saml2/acs/", saml2.BINDING_HTTP_POST)],
                    "single_logout_service": [
                        (f"{base}/saml2/ls/", saml2.BINDING_HTTP_REDIRECT),
                        (f"{base}/saml2/ls/post/", saml2.BINDING_HTTP_POST),
                    ],
                },
                "want_response_signed": True,
                "want_assertions_signed": False,
                "want_assertions_or_response_signed": True,
                "allow_unsolicited": False,
                "authn_requests_signed": False,
                "logout_requests_signed": True,
                "signing_algorithm": SIG_RSA_SHA256,
                "digest_algorithm": DIGEST_SHA256,
                "required_attributes": REQUIRED_ATTRIBUTES,
                "optional_attributes": OPTIONAL_ATTRIBUTES,
            }
        },
        "key_file": key_file,
        "cert_file": cert_file,
        # edu-ID encrypts the assertion to the certificate published for use="encryption".
        "encryption_keypairs": [{"key_file": key_file, "cert_file": cert_file}],
        "metadata": metadata,
        "accepted_time_diff": 60,
        "only_use_keys_in_metadata": True,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "organization": {"name": [("auditorium", "en")], "url": [(base, "en")]},
    }


def build_config() -> SPConfig:
    config = SPConfig()
    config.load(config_dict())
    return config


def sp_key_pair() -> tuple[str, str]:
    """The SP's key and certificate files; in development a self-signed pair is made in var/ on first use."""
    key_file, cert_file = settings.SAML_KEY_FILE, settings.SAML_CERT_FILE
    if key_file and cert_file:
        return str(key_file), str(cert_file)
    if not settings.DEBUG:
        raise ImproperlyConfigured("Set SAML_KEY_FILE and SAML_CERT_FILE (the SP's signing/encryption pair).")
    directory = Path(settings.VAR_DIR) / "saml"
    return ensure_key_pair(directory / "sp.key", directory / "sp.crt", common_name="auditorium SP")


def ensure_key_pair(key_path: Path, cert_path: Path, *, common_name: str) -> tuple[str, str]:
    """Write a self-signed RSA key pair unless both files exist already."""
    if not (key_path.exists() and cert_path.exists()):
        key_pem, cert_pem = self_signed_pair(common_name)
        key_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(key_path, key_pem, mode=0o600)
        write_atomically(cert_path, cert_pem, mode=0o644)
    return str(key_path), str(cert_path)


def self_signed_pair(common_name: str, *, days: int = 3650) -> tuple[bytes, bytes]:
    """A fresh RSA-2048 key and a self-signed certificate for it, both PEM (SAML trusts keys, not CAs)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=days))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def write_atomically(path: Path, data: bytes, *, mode: int = 0o644) -> None:
    """Write to a temporary file next to `path`, then rename: readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
