"""How many xmlsec1 processes one sign-in costs the SP (issue 14: sign-in at lecture scale)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import saml2.sigver
from django.test import Client

from tests.tenants.test_saml_signin import (  # noqa: F401 - fixtures used by name
    SP_ENTITY_ID,
    SamlWorld,
    client,
    lecturer,
    post,
    saml,
    saml_world,
    start_login,
    uzh,
)


def test_an_edu_id_sign_in_runs_no_xmlsec1_in_process_mode_and_two_otherwise(
    saml: SamlWorld,  # noqa: F811 - the fixtures imported above
    uzh: Any,  # noqa: F811
    client: Client,  # noqa: F811
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """In-process: none. xmlsec1: one verification and one decryption (pysaml2 alone ran `xmlsec1 --version`
    before each command and decrypted the same assertion twice: seven processes)."""
    request_id, relay_state = start_login(client, saml.uzh)
    xml = saml.uzh.response_xml(lecturer(), in_response_to=request_id, sp_entity_id=SP_ENTITY_ID)
    commands: list[list[str]] = []

    def spy(args: list[str], *rest: Any, **options: Any) -> subprocess.Popen[bytes]:
        commands.append(list(args))
        return subprocess.Popen(args, *rest, **options)

    monkeypatch.setattr(saml2.sigver, "Popen", spy)
    response = post(client, xml, relay_state)
    assert response.status_code == 302, response.content[:2000]
    actions = [
        next((arg for arg in command if arg in ("--verify", "--decrypt", "--version")), "")
        for command in commands
    ]
    if getattr(settings, "SAML_CRYPTO", "inprocess") == "inprocess":
        assert actions == []
    else:
        assert sorted(actions) == ["--decrypt", "--verify"]
