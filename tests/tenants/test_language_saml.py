"""edu-ID's preferredLanguage through a real SAML sign-in (pysaml2 test IdP), and the saved choice over it."""

from __future__ import annotations

from typing import Any

from django.test import Client

from tenants.models import User
from tests.tenants.test_language import lang

# The signed, encrypted SAML world of the sign-in tests: their fixtures, imported so that pytest finds them.
from tests.tenants.test_saml_signin import (  # noqa: F401
    SamlWorld,
    saml,
    saml_world,
    sign_in,
    student,
    uzh,
)


def test_preferred_language_from_the_idp_and_the_saved_choice_over_it(
    saml: SamlWorld,  # noqa: F811
    uzh: Any,  # noqa: F811
    client: Client,
) -> None:
    french = student(preferredLanguage=["fr"])
    assert sign_in(client, french, idp=saml.uzh).status_code == 302
    assert User.objects.get().preferred_language == "fr"
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="de-CH,en")) == "fr"

    # The header's switcher, then a later sign-in that releases French again: Italian stays.
    client.post("/accounts/language/", {"language": "it", "next": "/uzh/"})
    client.post("/accounts/logout/")
    client.cookies.clear()  # even in a fresh browser: the profile remembers
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="de-CH")) == "de"
    assert sign_in(client, french, idp=saml.uzh).status_code == 302
    user = User.objects.get()
    assert (user.preferred_language, user.interface_language) == ("fr", "it")
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="de-CH")) == "it"


def test_unsupported_preferred_language_falls_through_to_the_browser(
    saml: SamlWorld,  # noqa: F811
    uzh: Any,  # noqa: F811
    client: Client,
) -> None:
    assert sign_in(client, student(preferredLanguage=["rm"]), idp=saml.uzh).status_code == 302  # Romansh
    assert lang(client.get("/uzh/", HTTP_ACCEPT_LANGUAGE="it-CH")) == "it"
