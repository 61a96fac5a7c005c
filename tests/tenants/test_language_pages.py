"""Every main page, for each language and actor, is shown in that language: `<html lang>` matches, and the
visible text holds none of the English source strings whose translation differs (from the compiled
catalogues in locale/<lang>/LC_MESSAGES/django.mo). Needs the catalogues; without them it skips."""

from __future__ import annotations

import re
import struct
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings

from meetings.models import Room
from tests.factories import RoomFactory
from tests.meetings.helpers import make_series

LANGUAGES = ["de", "fr", "it"]
MIN_LENGTH = 16  # shorter source strings ("Room", "Sign in") may appear for other reasons
PLACEHOLDER = re.compile(r"%(\([^)]*\))?[sd]|\{[^}]*\}")


def read_mo(path: Path) -> dict[str, str]:
    """msgid -> msgstr of a compiled GNU catalogue (singular forms; no context-qualified entries)."""
    data = path.read_bytes()
    magic = struct.unpack("<I", data[:4])[0]
    order = "<" if magic == 0x950412DE else ">"
    _revision, count, originals, translations = struct.unpack(f"{order}4I", data[4:20])
    found: dict[str, str] = {}
    for index in range(count):
        length, offset = struct.unpack(f"{order}2I", data[originals + 8 * index : originals + 8 * index + 8])
        msgid = data[offset : offset + length].decode()
        length, offset = struct.unpack(
            f"{order}2I", data[translations + 8 * index : translations + 8 * index + 8]
        )
        msgstr = data[offset : offset + length].decode()
        if not msgid or "\x04" in msgid:
            continue
        found[msgid.split("\x00")[0]] = msgstr.split("\x00")[0]
    return found


def telltales(language: str) -> list[str]:
    """English text that must not show in `language`: literal runs of translated source strings."""
    path = Path(settings.BASE_DIR) / "locale" / language / "LC_MESSAGES" / "django.mo"
    if not path.exists():
        pytest.skip(f"no compiled catalogue at {path} yet (the i18n branch adds them)")
    found = set()
    for msgid, msgstr in read_mo(path).items():
        if not msgstr or msgstr == msgid:
            continue
        for piece in PLACEHOLDER.split(msgid):
            piece = (piece or "").strip()
            if len(piece) >= MIN_LENGTH and " " in piece and "<" not in piece:
                found.add(piece)
    return sorted(found)


class VisibleText(HTMLParser):
    """Text a person sees or hears: element text (not scripts or styles) and labelling attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in ("alt", "title", "placeholder", "aria-label") or name.startswith("data-label"):
                self.parts.append(value or "")
            if name == "data-unavailable":
                self.parts.append(value or "")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible(html: str) -> str:
    parser = VisibleText()
    parser.feed(html)
    return re.sub(r"\s+", " ", " ".join(parser.parts))


@pytest.fixture
def world(tenant, host, member, admin_user):
    lecture = RoomFactory(tenant=tenant, owner=host, name="algebra-7q3", title="Linear Algebra")
    RoomFactory(tenant=tenant, owner=host, name="office-5x9", title="Office", access=Room.Access.LINK)
    series = make_series(lecture, count=3)
    return {"room": lecture, "series": series}


def pages(actor: str, world) -> list[str]:
    room, series = world["room"], world["series"]
    refusals = ["/uzh/r/no-such-room/", "/nowhere/"]
    if actor == "guest":
        return ["/", "/uzh/", "/uzh/r/office-5x9/", "/new/", *refusals]
    if actor == "student":
        return ["/uzh/", "/uzh/lectures/", "/uzh/r/algebra-7q3/", "/uzh/settings/tokens/", *refusals]
    if actor == "lecturer":
        base = f"/uzh/rooms/{room.name}/"
        return [
            "/uzh/rooms/",
            "/uzh/rooms/new/",
            base,
            f"{base}share/",
            f"{base}people/",
            f"{base}series/new/",
            f"{base}series/{series.code}/",
            f"{base}series/{series.code}/edit/",
            "/uzh/lectures/",
        ]
    return [
        f"/uzh/manage/{page}"
        for page in ("", "branding/", "members/", "statistics/", "audit/", "deployment/")
    ]


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("actor", ["guest", "student", "lecturer", "admin"])
def test_main_pages_show_no_untranslated_text(client, world, host, member, admin_user, actor, language):
    people = {"student": member, "lecturer": host, "admin": admin_user}
    if actor in people:
        client.force_login(people[actor])
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    shown = {}
    for url in pages(actor, world):
        response = client.get(url)
        assert response.status_code in (200, 403, 404), (url, response.status_code)
        html = response.content.decode()
        assert f'<html lang="{language}">' in html, url
        shown[url] = visible(html)
    english = telltales(language)  # skips here while there are no catalogues
    problems = [f"{url}: {source!r}" for url, text in shown.items() for source in english if source in text]
    assert not problems, "\n".join(problems)


def write_mo(path: Path, entries: dict[str, str]) -> None:
    """A compiled catalogue as msgfmt writes it (little-endian, no hash table)."""
    keys = sorted(entries)
    ids = [k.encode() for k in keys]
    strs = [entries[k].encode() for k in keys]
    start = 28 + 16 * len(keys)
    table, blob = [], b""
    for item in ids + strs:
        table.append((len(item), start + len(blob)))
        blob += item + b"\0"
    header = struct.pack("<7I", 0x950412DE, 0, len(keys), 28, 28 + 8 * len(keys), 0, start)
    path.write_bytes(header + b"".join(struct.pack("<2I", *t) for t in table) + blob)


def test_the_check_catches_an_untranslated_string(settings, tmp_path):
    catalogue = tmp_path / "locale" / "de" / "LC_MESSAGES"
    catalogue.mkdir(parents=True)
    write_mo(
        catalogue / "django.mo",
        {
            "": "Content-Type: text/plain; charset=UTF-8\n",
            "Create a new room now": "Jetzt einen neuen Raum erstellen",
            "It opens at %(when)s and closes later.": "Er öffnet um %(when)s und schliesst später.",
            "Same in both languages": "Same in both languages",
            "Short": "Kurz",
        },
    )
    settings.BASE_DIR = tmp_path
    assert telltales("de") == ["Create a new room now", "and closes later."]
    page = '<html lang="de"><body><p>Willkommen</p><button>Create a new room now</button></body></html>'
    text = visible(page + "<script>and closes later.</script>")
    assert [source for source in telltales("de") if source in text] == ["Create a new room now"]
