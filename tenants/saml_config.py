"""The SP configuration for djangosaml2: built once per process and cached.

The rules follow CONTRACTS.md §4 (SWITCH edu-ID): a signed Response is required, the Assertion may be unsigned
but is then encrypted to us, unsolicited responses are refused (that is what defeats replay and login CSRF),
60 s of clock skew is allowed, and only keys found in the (verified) metadata are trusted.
"""

from __future__ import annotations

import copy
import datetime as dt
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element, ParseError

import saml2
from defusedxml import DefusedXmlException, ElementTree
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.dateparse import parse_datetime
from saml2.config import SPConfig
from saml2.metadata import entity_descriptor
from saml2.saml import NAMEID_FORMAT_PERSISTENT, NAMEID_FORMAT_TRANSIENT
from saml2.xmldsig import (
    DIGEST_SHA256,
    DIGEST_SHA384,
    DIGEST_SHA512,
    SIG_ECDSA_SHA256,
    SIG_ECDSA_SHA384,
    SIG_ECDSA_SHA512,
    SIG_RSA_SHA256,
    SIG_RSA_SHA384,
    SIG_RSA_SHA512,
)

from portal.process_cache import LocalCache
from tenants import saml_keys
from tenants.key_files import ensure_key_pair

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

# SHA-256 and above only: what the SP advertises in its metadata and what it accepts on signed responses.
STRONG_DIGESTS = frozenset({DIGEST_SHA256, DIGEST_SHA384, DIGEST_SHA512})
STRONG_SIGNATURES = frozenset(
    {SIG_RSA_SHA256, SIG_RSA_SHA384, SIG_RSA_SHA512, SIG_ECDSA_SHA256, SIG_ECDSA_SHA384, SIG_ECDSA_SHA512}
)
MD = "urn:oasis:names:tc:SAML:2.0:metadata"
ALGSUPPORT = "urn:oasis:names:tc:SAML:metadata:algsupport"
# Unusable metadata (unreadable file, xmlsec1 missing) is looked at again after this long.
RETRY_SECONDS = 60

logger = logging.getLogger(__name__)


class FederationUnavailable(Exception):
    """No usable IdP metadata (none configured, unreadable or expired): sign-in answers a 503 page."""


@dataclass(frozen=True)
class SamlState:
    """The SP configuration of this process and what its metadata said about time.

    `refresh_at` is the earliest validUntil still ahead (epoch seconds): pysaml2 checks validUntil only while
    parsing, so the configuration is rebuilt then, and what expired meanwhile is dropped in every process
    without the file changing. `expired_idps` names IdPs dropped for expiry (entity ID -> display name)."""

    stamp: tuple[Any, ...]
    config: SPConfig | None
    problem: str
    refresh_at: float | None
    expired_idps: Mapping[str, str]
    receiving: SPConfig | None = None  # `config` without the signing key, for sign-in (see load_config)


@dataclass
class FileValidity:
    expired: bool = False  # the document's own validUntil passed: nothing in it may be trusted
    earliest_ahead: float | None = None
    expired_entities: dict[str, str] = field(default_factory=dict)
    entities: dict[str, str] = field(default_factory=dict)


_lock = threading.Lock()
# Both keyed by one constant; their tokens are the stamps of the files and settings they are built from.
_states: LocalCache[SamlState] = LocalCache(
    "saml configuration", max_age=float("inf"), limit=1, holds="the SP configuration with the IdP metadata"
)
_sp_metadata: LocalCache[str] = LocalCache(
    "saml sp metadata", max_age=float("inf"), limit=1, holds="the SP's own metadata document"
)


def load_config(request: Any = None) -> SPConfig:
    """djangosaml2's SAML_CONFIG_LOADER: the same SPConfig for every request of this process.

    Rebuilt when a metadata file changes on disk, so that every server process picks up what
    `import_federation_metadata` installed (it replaces the file atomically) without a restart, when the
    settings it is built from change (tests override them), and when a validUntil in the metadata passes.
    Raises FederationUnavailable when there is no usable IdP metadata."""
    state = current_state()
    if state.config is None:
        raise FederationUnavailable(state.problem)
    match = getattr(request, "resolver_match", None)
    if match is not None and match.url_name in RECEIVING_VIEWS and state.receiving is not None:
        return state.receiving
    return state.config


# Sign-in sends an unsigned AuthnRequest and receives a response: the signing key is not needed there. pysaml2
# parses (and validates) the key file each time a client is made, once per request in djangosaml2, which was
# most of a sign-in's CPU with a 3072-bit key. Logout signs its messages and keeps the full configuration.
RECEIVING_VIEWS = frozenset({"saml2_login", "saml2_acs"})


def without_signing_key(config: SPConfig) -> SPConfig:
    """The same configuration (metadata object shared, not parsed again) without the signing key; decryption
    keeps its key through `encryption_keypairs`."""
    receiving = copy.copy(config)
    receiving.key_file = None
    return receiving


def current_state() -> SamlState:
    stamp = metadata_stamp()
    entry = _states.peek("sp")
    if entry is not None and entry.tokens == stamp and not due(entry.value):
        return entry.value
    with _lock:  # built once, not by every thread that noticed the change
        entry = _states.peek("sp")
        if entry is not None and entry.tokens == stamp and not due(entry.value):
            return entry.value
        state = build_state(stamp)
        _states.put("sp", stamp, state)
        return state


def due(state: SamlState) -> bool:
    return state.refresh_at is not None and time.time() >= state.refresh_at


def expired_idps() -> Mapping[str, str]:
    """IdPs whose metadata expired (entity ID -> display name): their sign-in is temporarily unavailable."""
    return current_state().expired_idps


def settings_stamp() -> tuple[Any, ...]:
    return (
        str(settings.PUBLIC_URL),
        sp_entity_id(),
        settings.SAML_KEY_FILE,
        settings.SAML_CERT_FILE,
        settings.PORTAL_DEV_IDP,
        str(settings.VAR_DIR) if settings.PORTAL_DEV_IDP else "",
        settings.XMLSEC_BINARY,
        service_name(),
        *key_files_stamp(),
    )


def key_files_stamp() -> tuple[Any, ...]:
    """The SP's key files as they are on disk: `saml_keys stage/promote/retire` replace them, and every
    process follows on its next request without a restart (a few stat calls)."""
    if not (settings.SAML_KEY_FILE and settings.SAML_CERT_FILE):
        return ()
    stamp: list[Any] = [getattr(settings, "SAML_KEY_GRACE_DAYS", saml_keys.DEFAULT_GRACE_DAYS)]
    for path in saml_keys.rollover_paths().all_files():
        try:
            info = os.stat(path)
        except OSError:
            stamp.append((str(path), None))
        else:
            stamp.append((str(path), info.st_ino, info.st_mtime_ns, info.st_size))
    return tuple(stamp)


def metadata_stamp() -> tuple[Any, ...]:
    stamp: list[Any] = list(settings_stamp())
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
    _states.clear()
    _sp_metadata.clear()
    for listener in _cache_listeners:
        listener()


# Built-in IdPs (the development IdP) register here, so this module never imports them: each source returns
# its metadata XML or None when switched off; each listener forgets what it built from our configuration.
_metadata_sources: list[Callable[[], str | None]] = []
_cache_listeners: list[Callable[[], None]] = []


def add_inline_metadata(source: Callable[[], str | None], *, on_clear: Callable[[], None]) -> None:
    if source not in _metadata_sources:
        _metadata_sources.append(source)
        _cache_listeners.append(on_clear)


def public_url() -> str:
    return str(settings.PUBLIC_URL).rstrip("/")


def sp_entity_id() -> str:
    return str(getattr(settings, "SAML_ENTITY_ID", "") or f"{public_url()}/saml2/metadata/")


def service_name() -> str:
    return str(getattr(settings, "SAML_SERVICE_NAME", "") or "auditorium")


def sp_config_dict(*, published_only: bool = False) -> dict[str, Any]:
    """The pysaml2 SP configuration without any IdP metadata (the SP's own metadata is built from this).

    During a key rollover (tenants/saml_keys.py) a staged next pair is published beside the current one, for
    encryption and signing, and decrypts; a retiring previous pair only decrypts, so it is left out of the
    published metadata (`published_only`)."""
    key_file, cert_file = sp_key_pair()
    base = public_url()
    next_pair, previous_pair = rollover_pairs()
    decrypting = [{"key_file": key_file, "cert_file": cert_file}]
    decrypting += [{"key_file": key, "cert_file": cert} for key, cert in next_pair]
    if not published_only:
        decrypting += [{"key_file": key, "cert_file": cert} for key, cert in previous_pair]
    return {
        "entityid": sp_entity_id(),
        # md:AttributeConsumingService/md:ServiceName in the SP metadata.
        "name": service_name(),
        "xmlsec_binary": settings.XMLSEC_BINARY,
        "crypto_backend": "xmlsec1",
        "allow_unknown_attributes": True,
        "service": {
            "sp": {
                "name": service_name(),
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
        # A staged next certificate is published for signing too, so IdPs trust it before it signs.
        "additional_cert_files": [cert for _key, cert in next_pair] or None,
        # edu-ID encrypts the assertion to a certificate published for use="encryption"; pysaml2 tries each
        # pair's key in turn when decrypting.
        "encryption_keypairs": decrypting,
        "accepted_time_diff": 60,
        "only_use_keys_in_metadata": True,
        "signing_algorithm": SIG_RSA_SHA256,
        "digest_algorithm": DIGEST_SHA256,
        "organization": {"name": [("auditorium", "en")], "url": [(base, "en")]},
    }


def config_dict(files: Sequence[str] | None = None) -> dict[str, Any]:
    """The pysaml2 SP configuration as a dict, with the IdP metadata of `files` (default: all configured)."""
    metadata: dict[str, list[Any]] = {}
    files = [str(path) for path in settings.SAML_METADATA_FILES] if files is None else list(files)
    if files:
        metadata["local"] = files
    inline = [xml for xml in (source() for source in _metadata_sources) if xml is not None]
    if inline:
        metadata["inline"] = inline
    if not metadata:
        raise FederationUnavailable(
            "No IdP metadata: set SAML_METADATA_FILES (see manage.py import_federation_metadata) "
            "or PORTAL_DEV_IDP=1 for development."
        )
    return {**sp_config_dict(), "metadata": metadata}


def build_state(stamp: tuple[Any, ...]) -> SamlState:
    """Read the metadata files' validUntil, leave out expired files, and load the rest into pysaml2.

    Expired metadata stays expired until its file changes (the stamp); an unreadable file or a failed load
    may be passing trouble and is looked at again after RETRY_SECONDS."""
    now = time.time()
    usable: list[str] = []
    expired: dict[str, str] = {}
    deadlines: list[float] = []
    problems: list[str] = []
    for path in (str(path) for path in settings.SAML_METADATA_FILES):
        try:
            validity = read_validity(path, now=now)
        except (OSError, ValueError, DefusedXmlException, ParseError) as exc:
            logger.error("SAML metadata %s is unusable (%s)", path, exc)
            problems.append(f"{path} is unusable")
            deadlines.append(now + RETRY_SECONDS)
            continue
        if validity.expired:
            logger.error("SAML metadata %s expired; run manage.py import_federation_metadata", path)
            problems.append(f"{path} expired")
            expired.update(validity.entities)
            continue
        usable.append(path)
        expired.update(validity.expired_entities)
        if validity.earliest_ahead is not None:
            deadlines.append(validity.earliest_ahead)
    grace_ends = previous_key_grace_ends()
    if grace_ends is not None and grace_ends > now:
        deadlines.append(grace_ends)  # the previous SP key stops decrypting then
    if expired:
        # One line, not one per IdP: an expired aggregate names hundreds.
        logger.warning("SAML metadata of %d IdPs expired, e.g. %s", len(expired), next(iter(expired)))
    try:
        if not usable and not settings.PORTAL_DEV_IDP:
            raise FederationUnavailable("; ".join(problems) or "no IdP metadata configured")
        config = SPConfig()
        config.load(config_dict(usable))
    except FederationUnavailable as exc:
        return SamlState(stamp, None, str(exc), min(deadlines, default=None), expired)
    except Exception as exc:
        # Whatever pysaml2 raises on metadata it cannot use: sign-in answers 503, the log has the stack.
        logger.exception("SAML configuration could not be loaded")
        return SamlState(stamp, None, f"configuration failed: {exc}", now + RETRY_SECONDS, expired)
    return SamlState(stamp, config, "", min(deadlines, default=None), expired, without_signing_key(config))


def read_validity(path: str, *, now: float) -> FileValidity:
    """validUntil of the document and of each EntityDescriptor in one metadata file."""
    with open(path, "rb") as handle:
        root = ElementTree.fromstring(handle.read())
    found = FileValidity()
    until = valid_until(root)
    if until is not None and until <= now:
        found.expired = True
    elif until is not None:
        found.earliest_ahead = until
    entities = [root] if root.tag == f"{{{MD}}}EntityDescriptor" else root.iter(f"{{{MD}}}EntityDescriptor")
    for entity in entities:
        entity_id = entity.get("entityID", "")
        name = display_name(entity) or entity_id
        found.entities[entity_id] = name
        until = valid_until(entity)
        if until is None:
            continue
        if until <= now:
            found.expired_entities[entity_id] = name
        else:
            found.earliest_ahead = min(found.earliest_ahead or until, until)
    return found


def valid_until(element: Element) -> float | None:
    raw = (element.get("validUntil") or "").strip()
    if not raw:
        return None
    moment = parse_datetime(raw)
    if moment is None:
        raise ValueError(f"validUntil is not a date: {raw!r}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp()


def display_name(entity: Element) -> str:
    for element in entity.iter(f"{{{MD}}}OrganizationDisplayName"):
        if element.text and element.text.strip():
            return element.text.strip()
    return ""


def sp_config(*, published_only: bool = False) -> SPConfig:
    """The SP alone, without IdP metadata."""
    config = SPConfig()
    config.load(sp_config_dict(published_only=published_only))
    return config


def previous_key_grace_ends() -> float | None:
    if not (settings.SAML_KEY_FILE and settings.SAML_CERT_FILE):
        return None
    return saml_keys.rollover_paths().grace_ends()


def rollover_pairs() -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(the staged next pair, the previous pair still in its grace period), each an empty list or one pair."""
    if not (settings.SAML_KEY_FILE and settings.SAML_CERT_FILE):
        return [], []  # development's generated pair has no rollover
    paths = saml_keys.rollover_paths()
    next_pair = [paths.next_pair] if paths.next_staged() else []
    previous_pair = [paths.previous_pair] if paths.previous_in_grace() else []
    return next_pair, previous_pair


def sp_metadata_xml() -> str:
    """The SP's metadata: independent of IdP metadata (valid while the federation's is expired or missing),
    advertising SHA-256 and above only. Cached per process while its settings are unchanged."""
    return _sp_metadata.get("sp", settings_stamp(), _build_sp_metadata_xml)


def _build_sp_metadata_xml() -> str:
    descriptor = entity_descriptor(sp_config(published_only=True))
    if descriptor.extensions is not None:
        # pysaml2 advertises every algorithm xmlsec1 knows (md5, sha1, ...); keep the strong ones.
        descriptor.extensions.extension_elements = [
            element
            for element in descriptor.extensions.extension_elements
            if element.namespace != ALGSUPPORT
            or element.attributes.get("Algorithm") in STRONG_DIGESTS | STRONG_SIGNATURES
        ]
    return str(descriptor)


def build_config() -> SPConfig:
    """The SP with all configured IdP metadata (raises FederationUnavailable without any)."""
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
