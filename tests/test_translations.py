"""The de/fr/it catalogues: complete, extracted, compiled, and the check that keeps them so."""

from __future__ import annotations

import gettext
import json
import shutil
import subprocess
from pathlib import Path

import polib
import pytest
from django.template import Context, Template
from django.test import RequestFactory
from django.utils import translation
from django.views.i18n import JSONCatalog

from meetings.ratelimit import too_many_requests
from portal import translations
from tenants.middleware import forget_hosts
from tenants.models import TenantHost
from tests.conftest import require

LANGUAGES = ("de", "fr", "it")


@pytest.fixture(autouse=True)
def _english_afterwards():
    """LocaleMiddleware leaves the request's language active in the test's thread after a test client call;
    later tests expect English."""
    yield
    translation.activate("en")


def needs_xgettext() -> None:
    require(shutil.which("xgettext") is not None and shutil.which("msgmerge") is not None, "GNU gettext")


def scratch_locale(tmp_path: Path) -> Path:
    """A copy of the committed catalogues to break on purpose."""
    shutil.copytree(translations.LOCALE, tmp_path / "locale")
    return tmp_path / "locale"


def change(po_path: Path, msgid: str, **fields: object) -> None:
    catalogue = polib.pofile(str(po_path))
    entry = catalogue.find(msgid)
    assert entry is not None, msgid
    for name, value in fields.items():
        setattr(entry, name, value)
    catalogue.save(str(po_path))


# The committed catalogues


def test_every_entry_is_translated_checked_and_compiled():
    found = [
        problem
        for po_path in translations.catalogue_paths()
        for problem in translations.entry_problems(po_path) + translations.stale_mo(po_path)
    ]
    assert not found, translations.report(found)


def test_every_marked_string_is_in_the_catalogues():
    """makemessages on a scratch copy of the project yields the committed set of strings."""
    needs_xgettext()
    found = translations.extraction_problems()
    assert not found, translations.report(found)


def test_plural_forms_and_headers():
    for lang, formula in (("de", "(n != 1)"), ("fr", "(n > 1)"), ("it", "(n != 1)")):
        for po_path in translations.catalogue_paths():
            if po_path.parents[1].name == lang:
                catalogue = polib.pofile(str(po_path))
                assert catalogue.metadata["Plural-Forms"] == f"nplurals=2; plural={formula};"
                assert catalogue.metadata["Language"] == lang
                assert not catalogue.metadata_is_fuzzy


# The check catches what it should


def test_check_catches_an_untranslated_string(tmp_path):
    po_path = scratch_locale(tmp_path) / "fr" / "LC_MESSAGES" / "django.po"
    change(po_path, "Join the meeting", msgstr="")
    found = translations.entry_problems(po_path)
    assert [(p.kind, p.msgid) for p in found] == [("untranslated", "Join the meeting")]
    assert "untranslated: 'Join the meeting'" in translations.report(found)


def test_check_catches_fuzzy_placeholders_and_sharp_s(tmp_path):
    locale = scratch_locale(tmp_path)
    de = locale / "de" / "LC_MESSAGES" / "django.po"
    change(de, "Join the meeting", flags=["fuzzy"])
    change(de, "Room “%(title)s” created.", msgstr="Raum «%(titel)s» erstellt.")
    change(de, "The image is larger than 2 MB.", msgstr="Das Bild ist größer als 2 MB.")
    kinds = {(p.kind.split(" ")[0], p.msgid) for p in translations.entry_problems(de)}
    assert kinds == {
        ("fuzzy", "Join the meeting"),
        ("placeholders", "Room “%(title)s” created."),
        ("German", "The image is larger than 2 MB."),
    }


def test_check_catches_a_stale_mo(tmp_path):
    it = scratch_locale(tmp_path) / "it" / "LC_MESSAGES" / "django.po"
    change(it, "Join the meeting", msgstr="Entra nella riunione")
    assert [(p.kind, p.msgid) for p in translations.stale_mo(it)] == [
        ("stale: not in the .mo as in the .po", "Join the meeting")
    ]
    it.with_suffix(".mo").unlink()
    assert [p.kind for p in translations.stale_mo(it)] == ["missing: run make messages"]


def test_check_catches_a_string_added_without_extraction(tmp_path):
    needs_xgettext()
    root = tmp_path / "project"
    shutil.copytree(translations.ROOT, root, ignore=shutil.ignore_patterns(*translations.COPY_IGNORE))
    page = root / "templates" / "meetings" / "join.html"
    page.write_text(page.read_text() + '{% translate "A sentence nobody extracted" %}\n')
    js = root / "static" / "js" / "meeting.js"
    js.write_text(js.read_text() + 'gettext("A script sentence nobody extracted");\n')
    found = {(p.file, p.kind, p.msgid) for p in translations.extraction_problems(root)}
    for lang in LANGUAGES:
        assert (
            f"locale/{lang}/LC_MESSAGES/django.po",
            "not extracted (make messages)",
            "A sentence nobody extracted",
        ) in found
        assert (
            f"locale/{lang}/LC_MESSAGES/djangojs.po",
            "not extracted (make messages)",
            "A script sentence nobody extracted",
        ) in found
    assert len(found) == 6


def test_the_check_command_fails_with_the_list(tmp_path, monkeypatch):
    """`manage.py translations check` exits with an error listing the offending strings."""
    from django.core.management import call_command
    from django.core.management.base import CommandError

    locale = scratch_locale(tmp_path)
    change(locale / "de" / "LC_MESSAGES" / "django.po", "Join the meeting", msgstr="")
    broken = locale / "de" / "LC_MESSAGES" / "django.po"
    monkeypatch.setattr(translations, "problems", lambda: translations.entry_problems(broken))
    with pytest.raises(CommandError, match="untranslated: 'Join the meeting'"):
        call_command("translations", "check")


def test_msgfmt_accepts_the_catalogues(tmp_path):
    """What compilemessages runs: msgfmt with format checks (placeholders the way gettext sees them)."""
    require(shutil.which("msgfmt") is not None, "GNU gettext's msgfmt")
    for po_path in translations.catalogue_paths():
        subprocess.run(
            ["msgfmt", "--check-format", "-o", str(tmp_path / "out.mo"), str(po_path)],
            check=True,
            capture_output=True,
        )


# Plurals in each language


@pytest.mark.parametrize(
    ("lang", "one", "three"),
    [
        ("en", "Next 1 day", "Next 3 days"),
        ("de", "Innerhalb von 1 Tag", "Innerhalb von 3 Tagen"),
        ("fr", "D'ici 1 jour", "D'ici 3 jours"),
        ("it", "Entro 1 giorno", "Entro 3 giorni"),
    ],
)
def test_template_plurals(lang, one, three):
    template = Template(
        "{% load i18n %}{% blocktranslate count days=n %}Next {{ days }} day{% plural %}"
        "Next {{ days }} days{% endblocktranslate %}"
    )
    with translation.override(lang):
        assert template.render(Context({"n": 1})) == one
        assert template.render(Context({"n": 3})) == three


@pytest.mark.parametrize(
    ("lang", "one", "three"),
    [
        ("en", "about 1 minute.", "about 3 minutes."),
        ("de", "in etwa 1 Minute erneut.", "in etwa 3 Minuten erneut."),
        ("fr", "dans environ 1 minute.", "dans environ 3 minutes."),
        ("it", "tra circa 1 minuto.", "tra circa 3 minuti."),
    ],
)
def test_refusal_page_plurals(db, lang, one, three):
    request = RequestFactory().get("/new/")
    with translation.override(lang):
        assert one in too_many_requests(request, 60).content.decode()
        assert three in too_many_requests(request, 180).content.decode()


@pytest.mark.parametrize(
    ("lang", "zero", "one", "three"),
    [
        ("de", "0 Personen im Meeting", "1 Person im Meeting", "3 Personen im Meeting"),
        ("fr", "0 personne dans la réunion", "1 personne dans la réunion", "3 personnes dans la réunion"),
        ("it", "0 persone nella riunione", "1 persona nella riunione", "3 persone nella riunione"),
    ],
)
def test_live_count_plurals_in_the_javascript_catalogue(rf, lang, zero, one, three):
    """The sentence live-count.js shows, as the browser's ngettext picks it from /jsi18n/."""
    with translation.override(lang):
        data = json.loads(JSONCatalog.as_view()(rf.get("/jsi18n/")).content)
    forms = data["catalog"]["%(count)s person in the meeting"]
    pick = gettext.c2py(data["plural"])  # the formula the JS catalogue evaluates
    assert [forms[pick(n)] % {"count": n} for n in (0, 1, 3)] == [zero, one, three]


# The JavaScript catalogue is served


def test_pages_load_the_javascript_catalogue_in_their_language(client, tenant):
    page = client.get(f"/{tenant.slug}/", HTTP_ACCEPT_LANGUAGE="de-CH").content.decode()
    # In the head and deferred: it runs before the pages' own deferred scripts, and blocks nothing.
    assert '<script src="/jsi18n/?lang=de" defer></script>' in page.split("</head>")[0]
    script = client.get("/jsi18n/?lang=de", HTTP_ACCEPT_LANGUAGE="de-CH")
    assert script.status_code == 200
    assert "Der Meeting-Server ist gerade nicht erreichbar." in script.content.decode()


def test_javascript_catalogue_on_a_tenant_host(client, tenant, settings):
    settings.ALLOWED_HOSTS = ["meet.uzh.example", "testserver"]
    TenantHost.objects.create(tenant=tenant, host="meet.uzh.example")
    forget_hosts()
    try:
        response = client.get("/jsi18n/", HTTP_HOST="meet.uzh.example", HTTP_ACCEPT_LANGUAGE="fr")
        assert response.status_code == 200
        assert "%(count)s personnes dans la r" in response.content.decode()  # JSON escapes the é
    finally:
        forget_hosts()


@pytest.mark.browser
def test_live_count_sentence_in_chromium(db, client, chromium_path):
    """live-count.js shows one whole translated sentence around the live number, in each language."""
    from playwright.sync_api import sync_playwright

    from tests.browser_support import CHROMIUM_ARGS

    script = (translations.ROOT / "static" / "js" / "live-count.js").read_text()
    # A stand-in WebSocket: the test hands the script the server's messages itself.
    fake_socket = (
        "window.sockets = []; window.WebSocket = class { constructor(url) { this.url = url;"
        " window.sockets.push(this); } };"
    )
    span = (
        '<span data-live-count data-room="r1" data-ws-path="/ws/uzh/rooms/r1/">'
        "<span data-live-count-number>…</span> <span data-live-count-label>in the meeting</span></span>"
    )
    expected = {
        "en": ["1 person in the meeting", "3 people in the meeting"],
        "de": ["1 Person im Meeting", "3 Personen im Meeting"],
        "fr": ["1 personne dans la réunion", "3 personnes dans la réunion"],
        "it": ["1 persona nella riunione", "3 persone nella riunione"],
    }
    # Fetched before Playwright starts its event loop (the ORM refuses to run inside one).
    catalogues = {
        lang: client.get("/jsi18n/", HTTP_ACCEPT_LANGUAGE=lang).content.decode() for lang in expected
    }
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS)
        try:
            for lang, sentences in expected.items():
                catalogue = catalogues[lang]
                page = browser.new_page()
                page.set_content(f'<html lang="{lang}"><body>{span}</body></html>')
                for code in (fake_socket, catalogue, script):
                    page.add_script_tag(content=code)
                shown = []
                for count in (1, 3):
                    page.evaluate(
                        "n => window.sockets[0].onmessage({data: JSON.stringify("
                        "{type: 'participants', room: 'r1', count: n})})",
                        count,
                    )
                    shown.append(" ".join(page.inner_text("[data-live-count]").split()))
                assert shown == sentences, lang
                assert page.inner_text("[data-live-count-number]") == "3"
                page.close()
        finally:
            browser.close()
