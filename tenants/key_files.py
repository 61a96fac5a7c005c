"""Key material on disk: self-signed RSA pairs and files written atomically.

The lowest layer under the SAML configuration, its key rollover and the development IdP, so that none of
them has to import another for these helpers.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID


def ensure_key_pair(key_path: Path, cert_path: Path, *, common_name: str) -> tuple[str, str]:
    """Write a self-signed RSA key pair unless both files exist already."""
    if not (key_path.exists() and cert_path.exists()):
        key_pem, cert_pem = self_signed_pair(common_name)
        key_path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(key_path, key_pem, mode=0o600)
        write_atomically(cert_path, cert_pem, mode=0o644)
    return str(key_path), str(cert_path)


def self_signed_pair(common_name: str, *, days: int = 3650, bits: int = 2048) -> tuple[bytes, bytes]:
    """A fresh RSA key and a self-signed certificate for it, both PEM (SAML trusts keys, not CAs)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
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
