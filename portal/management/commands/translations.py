"""`manage.py translations update`: extract the strings into locale/ and compile them (make messages);
`manage.py translations check`: the completeness check (exit status 1 with the list of offending strings)."""

from __future__ import annotations

import os
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from portal import translations


class Command(BaseCommand):
    help = "Update the gettext catalogues in locale/ (update) or check that they are complete (check)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("action", choices=["update", "check"])

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] == "update":
            self.update()
        found = translations.problems()
        if found:
            raise CommandError(translations.report(found))
        self.stdout.write(translations.report(found))

    def update(self) -> None:
        # makemessages reads the folder it runs in: the project root, whatever the caller's directory.
        os.chdir(translations.ROOT)
        for domain in translations.DOMAINS:
            call_command("makemessages", *translations.makemessages_options(domain), verbosity=0)
        call_command(
            "compilemessages",
            locale=list(translations.LANGUAGES),
            ignore_patterns=[".venv", ".git", *translations.IGNORE],
            verbosity=0,
        )
