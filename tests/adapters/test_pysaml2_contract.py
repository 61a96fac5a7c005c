"""Contract of portal/adapters/pysaml2.py: what it relies on in pysaml2, djangosaml2 and the xmlsec wheel.

When one of these fails after an upgrade, re-read pysaml2's sigver.py (CryptoBackendXmlSec1, SecurityContext,
security_context) and entity.py (Entity.__init__) before changing the adapter.
"""

from __future__ import annotations

import inspect
import shutil
from typing import Any

import djangosaml2.views
import lxml.etree
import pytest
import saml2.entity
import saml2.sigver
import xmlsec
from saml2.client import Saml2Client
from saml2.config import SPConfig

from portal.adapters import pysaml2 as adapter
from tests.conftest import require


def parameters(function: Any) -> list[tuple[str, Any]]:
    return [(p.name, p.default) for p in inspect.signature(function).parameters.values()]


def test_the_overridden_backend_methods_keep_their_signatures() -> None:
    backend = saml2.sigver.CryptoBackendXmlSec1
    empty = inspect.Parameter.empty
    assert parameters(backend.__init__) == [
        ("self", empty),
        ("xmlsec_binary", empty),
        ("delete_tmpfiles", True),
        ("kwargs", empty),
    ]
    assert parameters(backend.validate_signature) == [
        ("self", empty),
        ("signedtext", empty),
        ("cert_file", empty),
        ("cert_type", empty),
        ("node_name", empty),
        ("node_id", empty),
    ]
    assert parameters(backend.decrypt) == [("self", empty), ("enctext", empty), ("key_file", empty)]
    assert isinstance(inspect.getattr_static(backend, "version"), property)
    # The adapter reads the binary and the temporary-file choice from these public attributes.
    instance = backend("/usr/bin/xmlsec1", delete_tmpfiles=False)
    assert (instance.xmlsec, instance.delete_tmpfiles) == ("/usr/bin/xmlsec1", False)


def test_the_xmlsec1_command_lines_the_adapter_mirrors_are_unchanged() -> None:
    """The in-process checks copy these restrictions; a change here must be reflected there."""
    verify = inspect.getsource(saml2.sigver.CryptoBackendXmlSec1.validate_signature)
    for part in ('"--enabled-reference-uris"', '"empty,same-doc"', '"--enabled-key-data"', '"raw-x509-cert"'):
        assert part in verify
    assert '"--id-attr:ID"' in verify and '"--node-id"' in verify
    decrypt = inspect.getsource(saml2.sigver.CryptoBackendXmlSec1.decrypt)
    assert '"--privkey-pem"' in decrypt and '"--id-attr:Id"' in decrypt


def test_the_wrapped_name_is_what_entity_calls() -> None:
    """The adapter replaces `saml2.entity.security_context`; Entity.__init__ must still call it by that name
    and put the result in `sec`, whose public `crypto` attribute does every check and decryption."""
    wrapper = saml2.entity.security_context
    assert getattr(wrapper, "auditorium_adapter", False), "adapter not installed (tenants.apps.ready)"
    assert wrapper.wrapped is saml2.sigver.security_context  # type: ignore[attr-defined]
    assert "self.sec = security_context(self.config)" in inspect.getsource(saml2.entity.Entity.__init__)
    context = inspect.getsource(saml2.sigver.SecurityContext)
    assert "self.crypto.validate_signature(" in context
    assert "self.crypto.decrypt(enctext, key_file)" in context
    # djangosaml2 makes its clients from pysaml2's Saml2Client, an Entity.
    assert issubclass(djangosaml2.views.Saml2Client, saml2.entity.Entity)


@pytest.mark.parametrize(
    ("mode", "kind"), [("inprocess", adapter.InProcessBackend), ("xmlsec1", adapter.MemoXmlSec1Backend)]
)
def test_a_client_gets_the_backend_of_the_setting(
    settings: Any, tmp_path: Any, mode: str, kind: type[adapter.MemoXmlSec1Backend]
) -> None:
    require(shutil.which("xmlsec1") is not None, "xmlsec1 (Debian package xmlsec1)")
    settings.SAML_CRYPTO = mode
    config = SPConfig()
    config.load({"entityid": "https://sp.example.org/md", "xmlsec_binary": "/usr/bin/xmlsec1"})
    client = Saml2Client(config)
    assert type(client.sec.crypto) is kind


def test_an_unknown_mode_is_an_error(settings: Any) -> None:
    settings.SAML_CRYPTO = "fast"
    with pytest.raises(ValueError, match="SAML_CRYPTO"):
        adapter.backend_class()


def test_xmlsec_and_lxml_share_one_libxml2() -> None:
    """Both wheels bundle libxml2; nodes pass between them, so the versions must match (pin them together)."""
    assert xmlsec.get_libxml_version() == lxml.etree.LIBXML_VERSION
    assert xmlsec.get_libxml_compiled_version() == lxml.etree.LIBXML_COMPILED_VERSION
