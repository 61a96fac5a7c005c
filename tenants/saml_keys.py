"""The SP's key pair (an RSA key and its self-signed certificate, for signing and decryption), rolled over.

Rollover without breaking sign-in (README, "SP keys"):
1. `saml_keys stage` writes a NEXT pair beside the current one. The SP metadata then publishes both
   certificates (for encryption and signing) and the SP decrypts with either key.
2. The federation publishes the new SP metadata (SWITCHaai: resource registry); IdPs refresh theirs.
3. `saml_keys promote` makes the next pair current. The old pair becomes PREVIOUS: no longer published, it
   still decrypts for SAML_KEY_GRACE_DAYS (counted from the promote), for IdPs encrypting from older metadata.
4. `saml_keys retire` removes the previous pair (or let the grace period end).

Files: the current pair is SAML_KEY_FILE/SAML_CERT_FILE; the next pair SAML_NEXT_KEY_FILE/SAML_NEXT_CERT_FILE,
by default `<name>.next<suffix>` beside them (`sp.key` -> `sp.next.key`); the previous pair always
`<name>.previous<suffix>`. Every process notices changed files on its next request (tenants/saml_config.py).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings

from tenants.key_files import self_signed_pair, write_atomically

KEY_SIZES = (2048, 3072, 4096)
DEFAULT_BITS = 3072
DEFAULT_DAYS = 3650
DEFAULT_GRACE_DAYS = 14
EXPIRY_WARNING = dt.timedelta(days=30)


class KeyFileError(Exception):
    """A key operation cannot be done as asked (the message says why, for the operator)."""


@dataclass(frozen=True)
class CertInfo:
    path: Path
    fingerprint: str  # SHA-256 of the DER certificate, colon-separated upper-case hex (as openssl prints it)
    subject: str
    not_after: dt.datetime
    key_size: int | None
    key_matches: bool | None  # None: no key file to compare with

    def expires_soon(self, now: dt.datetime | None = None) -> bool:
        return self.not_after - (now or dt.datetime.now(dt.UTC)) < EXPIRY_WARNING


@dataclass(frozen=True)
class RolloverPaths:
    key: Path
    cert: Path
    next_key: Path
    next_cert: Path
    previous_key: Path
    previous_cert: Path

    @property
    def next_pair(self) -> tuple[str, str]:
        return str(self.next_key), str(self.next_cert)

    @property
    def previous_pair(self) -> tuple[str, str]:
        return str(self.previous_key), str(self.previous_cert)

    def all_files(self) -> tuple[Path, ...]:
        return (self.key, self.cert, self.next_key, self.next_cert, self.previous_key, self.previous_cert)

    def next_staged(self) -> bool:
        return self.next_key.is_file() and self.next_cert.is_file()

    def grace_ends(self) -> float | None:
        """When the previous pair stops decrypting (epoch seconds), None without a previous pair."""
        if not (self.previous_key.is_file() and self.previous_cert.is_file()):
            return None
        return self.previous_cert.stat().st_mtime + grace_days() * 86400

    def previous_in_grace(self, now: float | None = None) -> bool:
        ends = self.grace_ends()
        return ends is not None and (now or time.time()) < ends


def grace_days() -> float:
    return float(getattr(settings, "SAML_KEY_GRACE_DAYS", DEFAULT_GRACE_DAYS))


def beside(path: Path, label: str) -> Path:
    """`/etc/auditorium/sp.key` -> `/etc/auditorium/sp.<label>.key`."""
    return path.with_name(f"{path.stem}.{label}{path.suffix}")


def current_pair(key: str | None = None, cert: str | None = None) -> tuple[Path, Path]:
    """The current pair's files: given paths, else SAML_KEY_FILE/SAML_CERT_FILE, else the development pair."""
    key = key or settings.SAML_KEY_FILE
    cert = cert or settings.SAML_CERT_FILE
    if key and cert:
        return Path(key), Path(cert)
    if key or cert:
        raise KeyFileError("Give both the key and the certificate file (SAML_KEY_FILE and SAML_CERT_FILE).")
    if settings.DEBUG:
        directory = Path(settings.VAR_DIR) / "saml"
        return directory / "sp.key", directory / "sp.crt"
    raise KeyFileError("Set SAML_KEY_FILE and SAML_CERT_FILE (or pass --key and --cert).")


def rollover_paths(key: str | None = None, cert: str | None = None) -> RolloverPaths:
    key_path, cert_path = current_pair(key, cert)
    # The NEXT settings apply to the configured pair only, not to a pair named on the command line.
    configured = not (key or cert)
    next_key = getattr(settings, "SAML_NEXT_KEY_FILE", "") if configured else ""
    next_cert = getattr(settings, "SAML_NEXT_CERT_FILE", "") if configured else ""
    return RolloverPaths(
        key=key_path,
        cert=cert_path,
        next_key=Path(next_key) if next_key else beside(key_path, "next"),
        next_cert=Path(next_cert) if next_cert else beside(cert_path, "next"),
        previous_key=beside(key_path, "previous"),
        previous_cert=beside(cert_path, "previous"),
    )


def default_common_name() -> str:
    return urlsplit(str(settings.PUBLIC_URL)).hostname or "auditorium"


def write_pair(
    key_path: Path, cert_path: Path, *, bits: int, days: int, common_name: str, force: bool
) -> CertInfo:
    """A new key (mode 0600) and self-signed certificate, each written atomically; an existing key is kept
    unless `force` (overwriting the key in use breaks sign-in until IdPs have the new certificate)."""
    if bits not in KEY_SIZES:
        raise KeyFileError(f"Key size must be one of {', '.join(map(str, KEY_SIZES))} bits.")
    if not 1 <= days <= 36500:
        raise KeyFileError("The validity must be between 1 and 36500 days.")
    if key_path.exists() and not force:
        raise KeyFileError(f"{key_path} exists; refusing to overwrite it (pass --force to replace it).")
    key_pem, cert_pem = self_signed_pair(common_name, days=days, bits=bits)
    key_path.parent.mkdir(parents=True, exist_ok=True)
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomically(key_path, key_pem, mode=0o600)
    write_atomically(cert_path, cert_pem, mode=0o644)
    return describe(cert_path, key_path)


def describe(cert_path: Path, key_path: Path | None = None) -> CertInfo:
    try:
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
    except OSError as exc:
        raise KeyFileError(f"Cannot read {cert_path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise KeyFileError(f"{cert_path} is not a PEM certificate.") from exc
    public = cert.public_key()
    key_size = public.key_size if isinstance(public, rsa.RSAPublicKey) else None
    matches: bool | None = None
    if key_path is not None and key_path.exists():
        matches = public_bytes_of_key(key_path) == public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    digest = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest().upper()
    return CertInfo(
        path=cert_path,
        fingerprint=":".join(digest[i : i + 2] for i in range(0, len(digest), 2)),
        subject=cert.subject.rfc4514_string(),
        not_after=cert.not_valid_after_utc,
        key_size=key_size,
        key_matches=matches,
    )


def public_bytes_of_key(key_path: Path) -> bytes:
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as exc:
        raise KeyFileError(f"Cannot read {key_path}: {exc.strerror or exc}") from exc
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"{key_path} is not an unencrypted PEM private key.") from exc
    return key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def stage(paths: RolloverPaths, *, bits: int, days: int, common_name: str, force: bool) -> CertInfo:
    """Step 1: a next pair beside the current one (published and decrypting from now on)."""
    if not (paths.key.is_file() and paths.cert.is_file()):
        raise KeyFileError(
            f"No current pair at {paths.key} and {paths.cert}: run `saml_keys generate` first."
        )
    if paths.next_key.exists() and not force:
        raise KeyFileError(
            f"A next pair is staged already ({paths.next_key}); promote it, or pass --force to replace it."
        )
    return write_pair(
        paths.next_key, paths.next_cert, bits=bits, days=days, common_name=common_name, force=True
    )


def promote(paths: RolloverPaths) -> CertInfo:
    """Step 3: the next pair becomes current; the current one becomes previous (decrypting, not published)."""
    if not paths.next_staged():
        raise KeyFileError(f"Nothing staged: {paths.next_key} and {paths.next_cert} do not both exist.")
    staged = describe(paths.next_cert, paths.next_key)
    if not staged.key_matches:
        raise KeyFileError(f"{paths.next_key} does not belong to {paths.next_cert}; nothing changed.")
    if paths.key.is_file() and paths.cert.is_file():
        # Copies, not moves: the current files stay in place until the renames below replace them, so a
        # process reading in between finds a complete pair. Written now, they start the grace period.
        write_atomically(paths.previous_key, paths.key.read_bytes(), mode=0o600)
        write_atomically(paths.previous_cert, paths.cert.read_bytes(), mode=0o644)
    os.replace(paths.next_key, paths.key)
    os.replace(paths.next_cert, paths.cert)
    return describe(paths.cert, paths.key)


def retire(paths: RolloverPaths) -> bool:
    """Step 4: forget the previous pair now. False when there was none."""
    found = False
    for path in (paths.previous_key, paths.previous_cert):
        if path.exists():
            path.unlink()
            found = True
    return found
