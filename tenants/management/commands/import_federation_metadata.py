"""Verify SAML IdP metadata and install it: a federation's signed aggregate, or one IdP's pinned file.

Run it from cron (hourly advised): the SP only ever reads the verified local copy, never the remote URL per
request. Two ways to trust metadata:
- a signed aggregate (SWITCHaai, eduGAIN): nothing is written unless its XML signature verifies against
  SAML_FEDERATION_CERT_FILE (xmlsec1) and its validUntil lies in the future;
- one IdP without a federation (`--pin-sha256`): the file need not be signed, but every signing certificate in
  it must have one of the pinned SHA-256 fingerprints (obtained from the IdP's operator out of band).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import re
import subprocess
import tempfile
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException, ElementTree
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from tenants.key_files import write_atomically
from tenants.saml_config import clear_config_cache

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
DS = "http://www.w3.org/2000/09/xmldsig#"
MAX_BYTES = 200 * 1024 * 1024  # SWITCHaai's aggregate is a few MB; eduGAIN's well below this
FETCH_TIMEOUT = 60


class Command(BaseCommand):
    help = "Verify a signed SAML metadata aggregate and install it as the SP's metadata."

    def add_arguments(self, parser: CommandParser) -> None:
        source = parser.add_mutually_exclusive_group(required=True)
        source.add_argument("--file", help="a downloaded aggregate")
        source.add_argument("--url", help="the aggregate's https URL (e.g. SWITCHaai's metadata feed)")
        parser.add_argument(
            "--cert", help="the federation's signing certificate (default: SAML_FEDERATION_CERT_FILE)"
        )
        parser.add_argument(
            "--pin-sha256",
            action="append",
            metavar="FINGERPRINT",
            help="one IdP's metadata, unsigned: the SHA-256 fingerprint of its signing certificate "
            "(repeat for an IdP rolling its key over); needs --output",
        )
        parser.add_argument(
            "--output",
            help="where to install it (default: SAML_FEDERATION_METADATA_FILE or SAML_METADATA_FILES[0])",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["pin_sha256"]:
            self.install_pinned(opts)
            return
        cert = opts["cert"] or settings.SAML_FEDERATION_CERT_FILE
        if not cert:
            raise CommandError("No federation certificate: set SAML_FEDERATION_CERT_FILE or pass --cert.")
        if not Path(cert).is_file():
            raise CommandError(f"The federation certificate {cert} cannot be read.")
        output = opts["output"] or settings.SAML_FEDERATION_METADATA_FILE
        if not output:
            raise CommandError(
                "Nowhere to install the metadata: set SAML_FEDERATION_METADATA_FILE (or SAML_METADATA_FILES) "
                "or pass --output."
            )
        data = read_url(opts["url"]) if opts["url"] else read_file(opts["file"])
        root = parse(data)
        check_signature_placement(root)
        verify_signature(data, cert=cert, root_id=root.get("ID", ""))
        valid_until = check_valid_until(root)
        entities = count_entities(root)

        target = Path(output)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data)
        clear_config_cache()
        self.stdout.write(
            self.style.SUCCESS(
                f"installed {entities} entities into {target} (valid until {valid_until.isoformat()})"
            )
        )

    def install_pinned(self, opts: dict[str, Any]) -> None:
        """One IdP's metadata file, trusted by the fingerprints of its signing certificates."""
        if opts["cert"]:
            raise CommandError(
                "--cert (a federation's signed aggregate) and --pin-sha256 exclude each other."
            )
        if not opts["output"]:
            # The default target is the federation's aggregate: one IdP's file must not replace it.
            raise CommandError(
                "Say where to install the IdP's metadata with --output (a SAML_METADATA_FILES entry)."
            )
        pins = {normalised_fingerprint(pin) for pin in opts["pin_sha256"]}
        data = read_url(opts["url"]) if opts["url"] else read_file(opts["file"])
        root = parse(data)
        entity = single_idp(root)
        checked = check_pinned_certificates(entity, pins)
        valid_until = optional_valid_until(root, entity)
        target = Path(opts["output"])
        warn_if_not_loaded(self, target)
        target.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(target, data)
        clear_config_cache()
        if valid_until is None:
            self.stderr.write(
                self.style.WARNING(
                    "The metadata has no validUntil: it stays trusted until you import a new file. Re-import "
                    "it whenever the IdP changes its keys or endpoints."
                )
            )
        until = f" (valid until {valid_until.isoformat()})" if valid_until else ""
        self.stdout.write(
            self.style.SUCCESS(
                f"installed {entity.get('entityID')} into {target}{until}; "
                f"{checked} signing certificate(s) match the pin"
            )
        )


def warn_if_not_loaded(command: BaseCommand, target: Path) -> None:
    if str(target) not in {str(path) for path in settings.SAML_METADATA_FILES}:
        command.stderr.write(
            command.style.WARNING(
                f"{target} is not in SAML_METADATA_FILES: the SP will not read it until it is."
            )
        )


HEX64 = re.compile(r"[0-9a-f]{64}")


def normalised_fingerprint(raw: str) -> str:
    """`AB:CD:...` (openssl's form) or plain hex -> 64 lower-case hex digits."""
    # `openssl x509 -fingerprint -sha256` prints `sha256 Fingerprint=AB:CD:...`: take what follows the `=`.
    value = re.sub(r"[\s:]", "", raw.rsplit("=", 1)[-1]).lower()
    if not HEX64.fullmatch(value):
        raise CommandError(f"Not a SHA-256 fingerprint (64 hex digits, colons allowed): {raw[:100]!r}.")
    return value


def single_idp(root: Element) -> Element:
    if root.tag == f"{{{MD}}}EntityDescriptor":
        entity = root
    else:
        entities = root.findall(f".//{{{MD}}}EntityDescriptor")
        if len(entities) != 1:
            raise CommandError(
                f"A pinned file must describe exactly one IdP; this one lists {len(entities)} entities "
                "(a federation's aggregate needs its signature checked: use --cert)."
            )
        entity = entities[0]
    if entity.find(f"{{{MD}}}IDPSSODescriptor") is None:
        raise CommandError(f"{entity.get('entityID') or 'The entity'} is not an identity provider.")
    return entity


def check_pinned_certificates(entity: Element, pins: set[str]) -> int:
    """Every certificate the SP would trust for signatures (KeyDescriptor use="signing" or without use) must
    match a pin; keys given otherwise than as certificates cannot be pinned and are refused."""
    checked = 0
    idp_signing = 0
    for role in entity:
        for descriptor in role.findall(f"{{{MD}}}KeyDescriptor"):
            if descriptor.get("use", "signing") != "signing":
                continue  # encryption keys: the SP never encrypts to an IdP
            certificates = descriptor.findall(f".//{{{DS}}}X509Certificate")
            if not certificates:
                raise CommandError("A signing key in the metadata is not a certificate: it cannot be pinned.")
            for element in certificates:
                try:
                    der = base64.b64decode("".join((element.text or "").split()), validate=True)
                except (binascii.Error, ValueError) as exc:
                    raise CommandError("A certificate in the metadata is not base64.") from exc
                fingerprint = hashlib.sha256(der).hexdigest()
                if fingerprint not in pins:
                    shown = ":".join(fingerprint[i : i + 2] for i in range(0, 64, 2)).upper()
                    raise CommandError(
                        f"A signing certificate in the metadata has the SHA-256 fingerprint {shown}, which "
                        "is not pinned; nothing was installed."
                    )
                checked += 1
                idp_signing += role.tag == f"{{{MD}}}IDPSSODescriptor"
    if not idp_signing:
        raise CommandError("The IdP's metadata has no signing certificate; nothing was installed.")
    return checked


def optional_valid_until(root: Element, entity: Element) -> dt.datetime | None:
    """The earliest validUntil of the document and the entity (refused when past), None without one."""
    found = [check_valid_until(element) for element in {root, entity} if element.get("validUntil")]
    return min(found, default=None)


def read_file(path: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError as exc:
        raise CommandError(f"Cannot read {path}: {exc.strerror or exc}") from exc
    return limited(data, path)


def read_url(url: str) -> bytes:
    if not url.startswith(("https://", "http://")):
        raise CommandError(f"Not an http(s) URL: {url}")
    try:
        with urllib.request.urlopen(url, timeout=FETCH_TIMEOUT) as response:  # noqa: S310 - scheme checked above
            data = response.read(MAX_BYTES + 1)
    except (urllib.error.URLError, OSError) as exc:
        raise CommandError(f"Cannot fetch {url}: {getattr(exc, 'reason', exc)}") from exc
    return limited(data, url)


def limited(data: bytes, source: str) -> bytes:
    if len(data) > MAX_BYTES:
        raise CommandError(f"{source} is larger than {MAX_BYTES // (1024 * 1024)} MB; refusing it.")
    if not data.strip():
        raise CommandError(f"{source} is empty.")
    return data


def parse(data: bytes) -> Element:
    try:
        # defusedxml: no entity declarations, no external references.
        root: Element = ElementTree.fromstring(data)
    except DefusedXmlException as exc:
        raise CommandError(f"Refusing unsafe XML ({type(exc).__name__}).") from exc
    except (ParseError, ValueError) as exc:
        raise CommandError(f"Not well-formed XML: {exc}") from exc
    if root.tag not in {f"{{{MD}}}EntitiesDescriptor", f"{{{MD}}}EntityDescriptor"}:
        raise CommandError(f"Not SAML metadata: the document element is {root.tag}.")
    return root


def check_signature_placement(root: Element) -> None:
    """The signature must be the root's own and cover the whole document (no wrapping of a signed part)."""
    signatures = root.findall(f"{{{DS}}}Signature")
    if not signatures:
        raise CommandError("The metadata is not signed: its document element carries no signature.")
    first_anywhere = root.find(f".//{{{DS}}}Signature")
    if len(signatures) != 1 or first_anywhere is not signatures[0]:
        raise CommandError("The metadata's signature is not where it belongs (first child of the document).")
    references = signatures[0].findall(f"{{{DS}}}SignedInfo/{{{DS}}}Reference")
    root_id = root.get("ID")
    if len(references) != 1 or references[0].get("URI") not in {f"#{root_id}" if root_id else "", ""}:
        raise CommandError("The metadata's signature does not cover the whole document.")


def verify_signature(data: bytes, *, cert: str, root_id: str) -> None:
    """xmlsec1 checks the signature with the federation's key only (certificates inside are ignored)."""
    with tempfile.NamedTemporaryFile(suffix=".xml") as tmp:
        tmp.write(data)
        tmp.flush()
        command = [
            settings.XMLSEC_BINARY,
            "--verify",
            "--enabled-reference-uris",
            "empty,same-doc",
            "--enabled-key-data",
            "raw-x509-cert",
            "--pubkey-cert-pem",
            cert,
            "--id-attr:ID",
            f"{MD}:EntitiesDescriptor",
            "--id-attr:ID",
            f"{MD}:EntityDescriptor",
        ]
        if root_id:
            command += ["--node-id", root_id]
        try:
            result = subprocess.run(  # noqa: S603 - fixed program and arguments, no shell
                [*command, tmp.name], capture_output=True, text=True, timeout=300, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise CommandError(f"Cannot run xmlsec1 ({settings.XMLSEC_BINARY}): {exc}") from exc
    if result.returncode != 0 or "OK" not in result.stdout + result.stderr:
        detail = (result.stderr or result.stdout).strip().splitlines()
        raise CommandError(
            "The metadata's signature does not verify against the federation certificate"
            + (f" ({detail[-1]})" if detail else "")
            + "."
        )


def check_valid_until(root: Element) -> dt.datetime:
    raw = root.get("validUntil")
    if not raw:
        raise CommandError("The metadata has no validUntil; refusing metadata that never expires.")
    valid_until = parse_datetime(raw.strip())
    if valid_until is None:
        raise CommandError(f"The metadata's validUntil is not a date: {raw!r}.")
    if timezone.is_naive(valid_until):
        valid_until = timezone.make_aware(valid_until, dt.UTC)
    if valid_until <= timezone.now():
        raise CommandError(f"The metadata expired at {valid_until.isoformat()} (validUntil); refusing it.")
    return valid_until


def count_entities(root: Element) -> int:
    if root.tag == f"{{{MD}}}EntityDescriptor":
        return 1
    count = len(root.findall(f".//{{{MD}}}EntityDescriptor"))
    if count == 0:
        raise CommandError("The metadata lists no entities.")
    return count
