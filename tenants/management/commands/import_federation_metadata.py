"""Fetch a federation metadata aggregate (SWITCHaai, eduGAIN), verify it, and install it for the SP.

Run it from cron (hourly advised): the SP only ever reads the verified local copy, never the remote URL per
request. Nothing is written unless the aggregate's XML signature verifies against SAML_FEDERATION_CERT_FILE
(xmlsec1) and its validUntil lies in the future.
"""

from __future__ import annotations

import datetime as dt
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

from tenants.saml_config import clear_config_cache, write_atomically

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
            "--output",
            help="where to install it (default: SAML_FEDERATION_METADATA_FILE or SAML_METADATA_FILES[0])",
        )

    def handle(self, *args: Any, **opts: Any) -> None:
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
