"""The completeness check of the gettext catalogues in locale/ (and how they are regenerated).

It fails when `makemessages` would change a catalogue's set of strings (a string added or removed without
extraction), when an entry of any language is untranslated or fuzzy, when a translation's placeholders differ
from its source's, when German uses "ß" (Swiss spelling writes "ss"), or when a compiled .mo file does not
hold what its .po file says. polib is a development dependency: this module is for `make messages`, the
`check_translations` command and the tests, never for serving pages."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
LOCALE = ROOT / "locale"
LANGUAGES = ("de", "fr", "it")
DOMAINS = ("django", "djangojs")
# Folders makemessages must not read: tests and load generators hold no page text; the rest is generated.
IGNORE = ("tests", "bench", "staticfiles", "var", "build", "test-artifacts", "*.egg-info", "node_modules")
# What the scratch copy leaves out (large, generated or secret): the extraction reads none of it.
COPY_IGNORE = (".git", ".venv", "__pycache__", ".mypy_cache", ".ruff_cache", ".pytest_cache", *IGNORE)

# %(name)s, %s, %d, %.1f, %(ratio).1f and {name}; "%%" is a literal percent sign.
PLACEHOLDER = re.compile(r"%(?:\([^)]+\))?[-#0 +]*\d*(?:\.\d+)?[sdifFeEgGxXrc%]|\{[A-Za-z_][A-Za-z0-9_]*\}")


def makemessages_options(domain: str) -> list[str]:
    """The one set of makemessages options (`make messages` and the check use the same)."""
    options = [f"--domain={domain}", "--no-obsolete", "--add-location=file"]
    options += [f"--locale={lang}" for lang in LANGUAGES]
    options += [f"--ignore={pattern}" for pattern in IGNORE]
    return options


@dataclass(frozen=True)
class Problem:
    file: str
    kind: str
    msgid: str

    def __str__(self) -> str:
        return f"{self.file}: {self.kind}: {self.msgid!r}"


def _polib() -> Any:
    try:
        import polib
    except ImportError as exc:  # pragma: no cover - the dev dependencies include it
        raise RuntimeError("the translation check needs polib: pip install -e '.[dev]'") from exc
    return polib


def catalogue_paths(locale: Path = LOCALE) -> list[Path]:
    return [locale / lang / "LC_MESSAGES" / f"{domain}.po" for lang in LANGUAGES for domain in DOMAINS]


def placeholders(text: str) -> list[str]:
    return sorted(m for m in PLACEHOLDER.findall(text) if m != "%%")


def _key(entry: Any) -> tuple[str, str, str]:
    return (entry.msgctxt or "", entry.msgid, entry.msgid_plural or "")


def entry_problems(po_path: Path, *, name: str | None = None) -> list[Problem]:
    """Untranslated, fuzzy, placeholder and spelling problems of one .po file."""
    polib = _polib()
    name = name or str(po_path.relative_to(po_path.parents[3]))
    lang = po_path.parents[1].name
    problems: list[Problem] = []
    catalogue = polib.pofile(str(po_path))
    if catalogue.metadata_is_fuzzy:
        # msgfmt leaves a fuzzy header out of the .mo, and with it the Plural-Forms.
        problems.append(Problem(name, "fuzzy header", ""))
    for entry in catalogue:
        if entry.obsolete:
            continue
        translations = list(entry.msgstr_plural.values()) if entry.msgid_plural else [entry.msgstr]
        if entry.fuzzy:
            problems.append(Problem(name, "fuzzy", entry.msgid))
        if not translations or any(not t for t in translations):
            problems.append(Problem(name, "untranslated", entry.msgid))
            continue
        wanted = placeholders(entry.msgid_plural or entry.msgid)
        for text in translations:
            if placeholders(text) != wanted:
                found = placeholders(text)
                problems.append(Problem(name, f"placeholders {found} instead of {wanted}", entry.msgid))
                break
        if lang == "de" and any("ß" in t for t in translations):
            problems.append(Problem(name, "German with ß (Swiss spelling: ss)", entry.msgid))
    return problems


def stale_mo(po_path: Path, *, name: str | None = None) -> list[Problem]:
    """The .mo beside a .po must hold exactly its translated, non-fuzzy entries (what msgfmt makes of it)."""
    polib = _polib()
    mo_path = po_path.with_suffix(".mo")
    name = name or str(mo_path.relative_to(mo_path.parents[3]))
    if not mo_path.exists():
        return [Problem(name, "missing: run make messages", "")]
    catalogue, compiled = polib.pofile(str(po_path)), polib.mofile(str(mo_path))
    wanted = {_key(e): _translation(e) for e in catalogue if not (e.obsolete or e.fuzzy) and e.translated()}
    found = {_key(e): _translation(e) for e in compiled if e.msgid}  # the empty msgid is the header
    problems = [
        Problem(name, "stale: not in the .mo as in the .po", k[1])
        for k in wanted
        if found.get(k) != wanted[k]
    ]
    problems += [Problem(name, "stale: only in the .mo", k[1]) for k in found if k not in wanted]
    if compiled.metadata.get("Plural-Forms") != catalogue.metadata.get("Plural-Forms"):
        problems.append(Problem(name, "stale: Plural-Forms differ from the .po", ""))
    return problems


def _translation(entry: Any) -> tuple[str, tuple[tuple[int, str], ...]]:
    return entry.msgstr, tuple(sorted((int(k), v) for k, v in entry.msgstr_plural.items()))


def msgids(po_path: Path) -> set[tuple[str, str, str]]:
    polib = _polib()
    if not po_path.exists():
        return set()
    return {_key(e) for e in polib.pofile(str(po_path)) if not e.obsolete}


def extract(root: Path, into: Path) -> Path:
    """Run makemessages on a scratch copy of the project at `root` (its locale/ included) in `into`;
    return the copy's locale folder. The project itself is not touched."""
    copy = into / "project"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(*COPY_IGNORE))
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "portal.settings"}
    if not env.get("SECRET_KEY"):
        env["DEBUG"] = "1"  # settings insist on a key otherwise; makemessages uses none
    for domain in DOMAINS:
        subprocess.run(  # noqa: S603  # our own interpreter and manage.py, fixed arguments
            [sys.executable, "manage.py", "makemessages", "--verbosity=0", *makemessages_options(domain)],
            cwd=copy,
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
    return copy / "locale"


def extraction_problems(root: Path = ROOT) -> list[Problem]:
    """Strings in the code that the catalogues lack, and catalogue strings the code no longer has."""
    problems: list[Problem] = []
    with tempfile.TemporaryDirectory(prefix="auditorium-messages-") as scratch:
        fresh = extract(root, Path(scratch))
        for po_path in catalogue_paths(root / "locale"):
            relative = po_path.relative_to(root / "locale")
            name = str(Path("locale") / relative)
            now, then = msgids(po_path), msgids(fresh / relative)
            problems += [Problem(name, "not extracted (make messages)", k[1]) for k in sorted(then - now)]
            problems += [
                Problem(name, "no longer in the code (make messages)", k[1]) for k in sorted(now - then)
            ]
    return problems


def problems(root: Path = ROOT, *, extraction: bool = True) -> list[Problem]:
    found: list[Problem] = []
    for po_path in catalogue_paths(root / "locale"):
        if not po_path.exists():
            found.append(Problem(str(po_path.relative_to(root)), "missing: run make messages", ""))
            continue
        found += entry_problems(po_path)
        found += stale_mo(po_path)
    if extraction:
        found += extraction_problems(root)
    return found


def report(found: Iterable[Problem]) -> str:
    lines = [str(p) for p in found]
    if not lines:
        return "All catalogues are complete."
    return "\n".join([f"{len(lines)} translation problem(s):", *lines])
