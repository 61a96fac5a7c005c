"""No personal data from pysaml2 and djangosaml2 in the logs.

pysaml2 logs responses, decrypted assertions and attribute values at DEBUG and INFO; djangosaml2 logs
the whole session info (unique ID, mail, names) at WARNING when a sign-in is refused. A filter on each of
their loggers drops their DEBUG and INFO records and withholds the arguments of the others unless they are
short plain values; auditorium's own line says what happened (refusal reason and IdP, acs_failure).
A filter on a logger sees only records of that very logger, so it is attached to every module's logger."""

from __future__ import annotations

import logging
from importlib.util import find_spec
from pathlib import Path

WITHHELD = "[withheld]"
MAX_PLAIN_LENGTH = 200
LIBRARIES = ("saml2", "djangosaml2")


class WithholdPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.WARNING:
            return False
        if record.args:
            args = record.args if isinstance(record.args, tuple) else (record.args,)
            record.args = tuple(arg if plain(arg) else WITHHELD for arg in args)
        return True


def plain(value: object) -> bool:
    if isinstance(value, bool | int | float) or value is None:
        return True
    return isinstance(value, str) and len(value) <= MAX_PLAIN_LENGTH and "<" not in value


def logger_names(package: str) -> list[str]:
    """The package's logger and one per module (modules log under their own __name__), found without
    importing them."""
    spec = find_spec(package)
    names = [package]
    for directory in (spec.submodule_search_locations or []) if spec else []:
        root = Path(directory)
        for path in root.rglob("*.py"):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            if parts:
                names.append(".".join((package, *parts)))
    return names


def install() -> None:
    """Attach the filter to every pysaml2 and djangosaml2 logger (idempotent)."""
    for package in LIBRARIES:
        for name in logger_names(package):
            target = logging.getLogger(name)
            if not any(isinstance(existing, WithholdPersonalData) for existing in target.filters):
                target.addFilter(WithholdPersonalData())
