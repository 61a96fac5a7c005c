"""pysaml2 adapter: XML signature checks and decryption in this process instead of in xmlsec1 children.

pysaml2 runs `xmlsec1` as a subprocess for every signature check and every decryption, plus
`xmlsec1 --version` before each of them: seven processes for one edu-ID response (signed Response, encrypted
Assertion, decrypted twice), most of a sign-in's CPU. pysaml2's only choices (`crypto_backend`) are xmlsec1
and the untested XMLSecurity, and djangosaml2 makes its client inside the view, so the backend is swapped
where pysaml2 builds a client's security context: `saml2.entity.security_context`, called by
`Entity.__init__`.

`SAML_CRYPTO` picks the backend:
- `inprocess` (default): the same libxmlsec1 checks through the `xmlsec` binding, with the restrictions of
  pysaml2's xmlsec1 command line made explicit and tightened (see `InProcessBackend`);
- `xmlsec1`: pysaml2's subprocesses, without the repeated `--version` runs and without decrypting the same
  ciphertext twice.
Signing and encryption (logout, metadata) stay on xmlsec1 in both: they are rare and not on the sign-in path.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable
from typing import Any

import saml2.entity
import xmlsec
from django.conf import settings
from lxml import etree
from saml2.sigver import CryptoBackendXmlSec1, DecryptError, SignatureError, XmlsecError

from portal.process_cache import LocalCache

DSIG = "http://www.w3.org/2000/09/xmldsig#"
XENC = "http://www.w3.org/2001/04/xmlenc#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
TRANSFORM_ENVELOPED = f"{DSIG}enveloped-signature"
EXC_C14N = "http://www.w3.org/2001/10/xml-exc-c14n#"
EXC_C14N_WITH_COMMENTS = f"{EXC_C14N}WithComments"
# What SAML's signature profile allows in a Reference and as SignedInfo's canonicalisation (saml-core 5.4);
# pysaml2 checks the same on its own reading of the message, this checks the bytes libxmlsec1 verifies.
ALLOWED_TRANSFORMS = frozenset({TRANSFORM_ENVELOPED, EXC_C14N, EXC_C14N_WITH_COMMENTS})
ALLOWED_C14N = frozenset({EXC_C14N, EXC_C14N_WITH_COMMENTS})
ID_ATTRIBUTES = ("ID", "Id", "id", f"{{{XML_NS}}}id")
MODES = ("inprocess", "xmlsec1")
MEMO_SIZE = 8
# libxmlsec1 allows every transform it knows unless told which: these are all a SAML Reference may use (digest
# methods count as transforms). SHA-1 stays allowed here as xmlsec1 allows it: sign-in refuses it by policy.
REFERENCE_TRANSFORMS = (
    xmlsec.constants.TransformEnveloped,
    xmlsec.constants.TransformExclC14N,
    xmlsec.constants.TransformExclC14NWithComments,
    xmlsec.constants.TransformSha1,
    xmlsec.constants.TransformSha224,
    xmlsec.constants.TransformSha256,
    xmlsec.constants.TransformSha384,
    xmlsec.constants.TransformSha512,
)

# By binary; the token is the file's stamp, so an upgraded xmlsec1 is asked again.
_versions: LocalCache[str] = LocalCache(
    "xmlsec1 versions", max_age=float("inf"), limit=16, holds="`xmlsec1 --version` of a binary"
)


class Refused(Exception):
    """The document is not one this verifier accepts (it names why)."""


def xmlsec1_version(binary: str) -> str:
    """`xmlsec1 --version` once per binary file, not before every command as pysaml2 does."""
    try:
        info = os.stat(binary)
        stamp = (binary, info.st_ino, info.st_mtime_ns)
    except OSError:
        stamp = (binary, 0, 0)
    return _versions.get(binary, stamp, lambda: CryptoBackendXmlSec1(binary).version)


class MemoXmlSec1Backend(CryptoBackendXmlSec1):
    """pysaml2's xmlsec1 backend, minus repeated work within one client (one request in djangosaml2).

    pysaml2 verifies a response twice when its assertion is unsigned (`Entity._parse_response` retries after
    a SignatureError) and each pass decrypts the same EncryptedAssertion again: the second decryption of the
    same ciphertext with the same key file returns the first one's result. Failures are never remembered."""

    def __init__(self, xmlsec_binary: str, delete_tmpfiles: bool = True, **kwargs: Any) -> None:
        super().__init__(xmlsec_binary, delete_tmpfiles=delete_tmpfiles, **kwargs)
        self.decrypted: dict[tuple[str, str, str], str] = {}

    @property
    def version(self) -> str:
        return xmlsec1_version(self.xmlsec)

    def decrypt(self, enctext: str | bytes, key_file: str) -> str:
        text = enctext.encode("utf-8") if isinstance(enctext, str) else enctext
        memo = (str(key_file), file_digest(key_file), hashlib.sha256(text).hexdigest())
        if memo not in self.decrypted:
            if len(self.decrypted) >= MEMO_SIZE:  # a long-lived client (an IdP's Server) stays small
                self.decrypted.clear()
            self.decrypted[memo] = self.decrypt_once(enctext, key_file)
        return self.decrypted[memo]

    def decrypt_once(self, enctext: str | bytes, key_file: str) -> str:
        return str(super().decrypt(enctext, key_file))


class InProcessBackend(MemoXmlSec1Backend):
    """Signature checks and decryption through libxmlsec1 in this process (the `xmlsec` binding).

    What pysaml2's xmlsec1 command line does, and how this matches it:
    - `--pubkey-cert-pem <file>` with `--enabled-key-data raw-x509-cert`: the only key is the certificate file
      pysaml2 hands over (from the IdP's metadata). Here the key is set on the context before verifying, so
      libxmlsec1 never reads KeyInfo at all: a key or certificate in the message is never used.
    - `--enabled-reference-uris empty,same-doc`: here exactly one Reference, pointing to `#<node_id>`
      (what pysaml2 itself demands of SAML signatures); XPointer, remote and file URIs are refused before
      libxmlsec1 sees them, and the transforms allowed are the enveloped signature and exclusive c14n only.
    - `--id-attr:ID <node_name> --node-id <id>`: the signed node is the one element carrying that ID, and it
      must be a `node_name` element; an ID carried twice anywhere in the document is refused (signature
      wrapping), and so is a Signature that is not the node's own child.
    - `--decrypt --privkey-pem <key> --id-attr:Id EncryptedKey`: the first EncryptedData in the document is
      decrypted in place with that key only; a CipherReference (ciphertext fetched from a URI) or a
      RetrievalMethod that is not same-document is refused.
    - Documents with a DTD are refused; entities are never resolved, the network is never used."""

    def validate_signature(
        self, signedtext: str | bytes, cert_file: str, cert_type: str, node_name: str, node_id: str | None
    ) -> bool:
        try:
            root = parse(signedtext)
            node, signature = signed_node(root, node_name, node_id)
            check_signed_info(signature, node_id or "")
            key = xmlsec.Key.from_memory(read_file(cert_file), certificate_format(cert_type))
        except (Refused, xmlsec.Error, etree.XMLSyntaxError, OSError, ValueError) as exc:
            # A document of a shape that is never acceptable, whatever the key: stop here.
            raise SignatureError(f"signature refused: {exc}") from exc
        context = xmlsec.SignatureContext()
        context.key = key
        context.set_enabled_key_data([xmlsec.constants.KeyDataRawX509Cert])
        for transform in REFERENCE_TRANSFORMS:
            context.enable_reference_transform(transform)
        context.register_id(node, "ID", None)
        try:
            context.verify(signature)
        except xmlsec.Error as exc:
            # Like xmlsec1's "FAIL": pysaml2 may try the IdP's next metadata certificate.
            raise XmlsecError(f"signature does not verify with {cert_file}: {exc}") from exc
        return True

    def decrypt_once(self, enctext: str | bytes, key_file: str) -> str:
        try:
            root = parse(enctext)
            encrypted = first_encrypted_data(root)
            for encrypted_key in root.iter(f"{{{XENC}}}EncryptedKey"):
                if encrypted_key.get("Id") is not None:
                    xmlsec.tree.add_ids(encrypted_key, ["Id"])
            manager, lock = keys_manager(read_file(key_file))
            with lock:
                xmlsec.EncryptionContext(manager).decrypt(encrypted)
        except (Refused, xmlsec.Error, etree.XMLSyntaxError, OSError, ValueError) as exc:
            raise DecryptError(f"decryption failed: {exc}") from exc
        return etree.tostring(root.getroottree(), encoding="unicode")


def parse(text: str | bytes) -> etree._Element:
    data = text.encode("utf-8") if isinstance(text, str) else text
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False, remove_blank_text=False
    )
    root = etree.fromstring(data, parser)
    info = root.getroottree().docinfo
    if info.doctype or info.internalDTD is not None or info.externalDTD is not None:
        raise Refused("a document type declaration")
    return root


def signed_node(root: etree._Element, node_name: str, node_id: str | None) -> tuple[Any, Any]:
    """The element `node_id` names and its enveloped Signature, as xmlsec1's --node-id would find them."""
    if not node_id:
        raise Refused("no node ID")
    holders = [
        element
        for element in root.iter()
        if isinstance(element.tag, str) and any(element.get(name) == node_id for name in ID_ATTRIBUTES)
    ]
    if len(holders) != 1:
        raise Refused(f"{len(holders)} elements carry the ID {node_id!r}")
    node = holders[0]
    namespace, _, name = node_name.rpartition(":")
    if node.tag != f"{{{namespace}}}{name}" or node.get("ID") != node_id:
        raise Refused(f"the ID {node_id!r} names a {node.tag}, not a {node_name}")
    for other in root.iter():
        ids = [other.get(attr) for attr in ID_ATTRIBUTES if other.get(attr) is not None]
        if len(ids) > 1:
            raise Refused("an element with two ID attributes")
    seen: set[str] = set()
    for element in root.iter():
        for attr in ID_ATTRIBUTES:
            value = element.get(attr)
            if value is not None:
                if value in seen:
                    raise Refused(f"the ID {value!r} is used twice")
                seen.add(value)
    # xmlsec1 verifies the first Signature at or below the node in document order; SAML's is the node's child.
    signature = next(node.iter(f"{{{DSIG}}}Signature"), None)
    if signature is None or signature.getparent() is not node:
        raise Refused("no enveloped signature on the signed node")
    return node, signature


def check_signed_info(signature: etree._Element, node_id: str) -> None:
    """One Reference to the signed node, SAML's transforms only, no Object or Manifest (saml-core 5.4)."""
    signed_infos = signature.findall(f"{{{DSIG}}}SignedInfo")
    if len(signed_infos) != 1:
        raise Refused("not exactly one SignedInfo")
    signed_info = signed_infos[0]
    methods = signed_info.findall(f"{{{DSIG}}}CanonicalizationMethod")
    if len(methods) != 1 or methods[0].get("Algorithm") not in ALLOWED_C14N:
        raise Refused("canonicalisation other than exclusive c14n")
    check_parameters(methods[0])
    references = signed_info.findall(f"{{{DSIG}}}Reference")
    if len(references) != 1 or len(signed_info.findall(f".//{{{DSIG}}}Reference")) != 1:
        raise Refused("not exactly one Reference")
    if references[0].get("URI") != f"#{node_id}":
        raise Refused(f"a Reference to {references[0].get('URI')!r}, not to #{node_id}")
    for transform in references[0].iter(f"{{{DSIG}}}Transform"):
        if transform.get("Algorithm") not in ALLOWED_TRANSFORMS:
            raise Refused(f"the transform {transform.get('Algorithm')!r}")
        check_parameters(transform)
    if (
        signature.find(f"{{{DSIG}}}Object") is not None
        or signature.find(f".//{{{DSIG}}}Manifest") is not None
    ):
        raise Refused("a ds:Object in the signature")


def check_parameters(method: etree._Element) -> None:
    """Exclusive c14n may carry an InclusiveNamespaces PrefixList (Shibboleth IdPs send one); nothing else may
    have parameters (an XPath expression, a stylesheet)."""
    for child in method:
        if child.tag is etree.Comment:
            continue
        if method.get("Algorithm") not in ALLOWED_C14N or child.tag != f"{{{EXC_C14N}}}InclusiveNamespaces":
            raise Refused(f"a parameter {child.tag!r} to {method.get('Algorithm')!r}")


def first_encrypted_data(root: etree._Element) -> etree._Element:
    encrypted = next(root.iter(f"{{{XENC}}}EncryptedData"), None)
    if encrypted is None:
        raise Refused("nothing encrypted")
    if encrypted is root:
        raise Refused("an EncryptedData document")
    if next(root.iter(f"{{{XENC}}}CipherReference"), None) is not None:
        raise Refused("a CipherReference")
    for method in root.iter(f"{{{DSIG}}}RetrievalMethod"):
        if not (method.get("URI") or "").startswith("#") or "(" in (method.get("URI") or ""):
            raise Refused(f"a RetrievalMethod to {method.get('URI')!r}")
    return encrypted


_managers: LocalCache[tuple[xmlsec.KeysManager, threading.Lock]] = LocalCache(
    "xmlsec keys managers", max_age=float("inf"), limit=MEMO_SIZE, holds="a keys manager per private key"
)
_managers_lock = threading.Lock()


def keys_manager(key_pem: bytes) -> tuple[xmlsec.KeysManager, threading.Lock]:
    """A keys manager holding only this private key, made once per key (making one costs ~10 ms: libxmlsec1
    sets up an X.509 store with the system's CAs). Keyed by the key's digest, so a new key gets a new one;
    used under its lock: libxmlsec1 only promises a shared manager is safe while nobody changes it."""
    digest = hashlib.sha256(key_pem).hexdigest()
    found = _managers.value(digest)
    if found is not None:
        return found

    def make() -> tuple[xmlsec.KeysManager, threading.Lock]:
        manager = xmlsec.KeysManager()
        manager.add_key(xmlsec.Key.from_memory(key_pem, xmlsec.constants.KeyDataFormatPem))
        return manager, threading.Lock()

    with _managers_lock:  # one manager (and lock) per key, however many threads ask at once
        return _managers.get(digest, (), make)


def certificate_format(cert_type: str) -> int:
    if cert_type == "pem":
        return int(xmlsec.constants.KeyDataFormatCertPem)
    if cert_type == "der":
        return int(xmlsec.constants.KeyDataFormatCertDer)
    raise Refused(f"certificate type {cert_type!r}")


def read_file(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def file_digest(path: str) -> str:
    try:
        return hashlib.sha256(read_file(path)).hexdigest()
    except OSError:
        return ""


def backend_class() -> type[MemoXmlSec1Backend]:
    mode = getattr(settings, "SAML_CRYPTO", "inprocess")
    if mode not in MODES:
        raise ValueError(f"SAML_CRYPTO must be one of {', '.join(MODES)}, not {mode!r}")
    return InProcessBackend if mode == "inprocess" else MemoXmlSec1Backend


def swap_backend(context: Any) -> Any:
    """Replace a security context's xmlsec1 backend (pysaml2's public `crypto` attribute) with ours."""
    crypto: Any = getattr(context, "crypto", None)
    if type(crypto) is CryptoBackendXmlSec1:
        context.crypto = backend_class()(crypto.xmlsec, delete_tmpfiles=crypto.delete_tmpfiles)
    return context


def install() -> None:
    """Wrap the `security_context` that pysaml2's `Entity.__init__` calls (every Saml2Client and Server)."""
    original: Callable[[Any], Any] = saml2.entity.security_context
    if getattr(original, "auditorium_adapter", False):
        return

    def security_context(conf: Any) -> Any:
        return swap_backend(original(conf))

    security_context.auditorium_adapter = True  # type: ignore[attr-defined]  # marks the wrapper: install once
    security_context.wrapped = original  # type: ignore[attr-defined]  # the contract test checks what it wraps
    saml2.entity.security_context = security_context
    # libxmlsec1 opens URIs through its IO callbacks; with none registered it can open nothing outside the
    # document, whatever slips past the checks above. Nothing else in this process uses libxmlsec1's IO.
    xmlsec.cleanup_callbacks()
