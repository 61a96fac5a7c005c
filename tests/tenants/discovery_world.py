"""IdP metadata with display names (several languages) for the discovery page's tests."""

from __future__ import annotations

import re
from pathlib import Path

from tests.saml_idp import TestIdP
from tests.tenants.test_saml_signin import HUB_IDP, UZH_IDP, SamlWorld

MD = "urn:oasis:names:tc:SAML:2.0:metadata"
EPFL_IDP = "https://idp.epfl.example.org/idp/shibboleth"
NAMES = {
    UZH_IDP: {"en": "University of Zurich", "de": "Universität Zürich"},
    HUB_IDP: {"en": "SWITCH edu-ID"},
    EPFL_IDP: {"fr": "École polytechnique fédérale de Lausanne", "en": "EPFL"},
}


def with_names(xml: str, names: dict[str, str]) -> str:
    """The entity's metadata with an md:Organization (it follows the role descriptors)."""
    elements = "".join(
        f'<md:OrganizationName xml:lang="{lang}">{name}</md:OrganizationName>' for lang, name in names.items()
    )
    elements += "".join(
        f'<md:OrganizationDisplayName xml:lang="{lang}">{name}</md:OrganizationDisplayName>'
        for lang, name in names.items()
    )
    elements += "".join(
        f'<md:OrganizationURL xml:lang="{lang}">https://example.org/</md:OrganizationURL>' for lang in names
    )
    organization = f'<md:Organization xmlns:md="{MD}">{elements}</md:Organization>'
    return re.sub(r"(</\w+:EntityDescriptor>)", lambda m: organization + m.group(1), xml, count=1)


def named_metadata(saml: SamlWorld, directory: Path) -> list[str]:
    """Metadata files for uzh, the hub and EPFL, each with display names; EPFL's key is its own."""
    epfl = TestIdP(
        entity_id=EPFL_IDP,
        sso_url="https://idp.epfl.example.org/sso",
        scopes=["epfl.ch"],
        key_name="epfl",
        workdir=directory,
    )
    files = []
    for idp in (saml.uzh, saml.hub, epfl):
        path = directory / f"named-{len(files)}.xml"
        path.write_text(with_names(idp.metadata_xml(), NAMES[idp.entity_id]))
        files.append(str(path))
    return files
