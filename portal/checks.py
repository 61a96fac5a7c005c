"""Deploy checks (`manage.py check --deploy`): production must not run on development defaults."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register


@register(Tags.security, deploy=True)
def production_setup(app_configs: Any, **kwargs: Any) -> list[Any]:
    return setup_problems(
        dev_idp=settings.PORTAL_DEV_IDP,
        debug=settings.DEBUG,
        database_engine=settings.DATABASES["default"]["ENGINE"],
        layer_backend=str(settings.CHANNEL_LAYERS["default"]["BACKEND"]),
        field_key=settings.FIELD_ENCRYPTION_KEY,
    )


def setup_problems(
    *, dev_idp: bool, debug: bool, database_engine: str, layer_backend: str, field_key: str
) -> list[Any]:
    problems: list[Any] = []
    if dev_idp and not debug:
        problems.append(
            Error(
                "PORTAL_DEV_IDP=1 mounts the development IdP, which signs in anyone as anyone.",
                hint="Unset PORTAL_DEV_IDP in production.",
                id="portal.E001",
            )
        )
    if database_engine.endswith("sqlite3"):
        problems.append(
            Warning(
                "The embedded SQLite database is for trying auditorium out.",
                hint="Set DATABASE_URL to a PostgreSQL database.",
                id="portal.W001",
            )
        )
    if layer_backend.endswith("InMemoryChannelLayer"):
        problems.append(
            Warning(
                "The in-memory channel layer reaches only sockets of the same process.",
                hint="Set REDIS_URL so that several server processes share live counts.",
                id="portal.W002",
            )
        )
    if not field_key:
        problems.append(
            Warning(
                "Stored secrets are sealed with a key derived from SECRET_KEY.",
                hint="Set FIELD_ENCRYPTION_KEY so that rotating SECRET_KEY does not lose them.",
                id="portal.W003",
            )
        )
    return problems
