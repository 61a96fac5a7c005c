"""Project-wide promises: migrations match the models, deploy checks speak up, settings refuse nonsense."""

from __future__ import annotations

import io

import pytest
from django.core.management import call_command

from portal import checks


@pytest.mark.django_db
def test_migrations_match_models():
    out = io.StringIO()
    call_command("makemigrations", "--check", "--dry-run", stdout=out)


def test_deploy_check_refuses_dev_idp_without_debug(settings):
    settings.PORTAL_DEV_IDP = True
    settings.DEBUG = False
    ids = {problem.id for problem in checks.production_setup(None)}
    assert "portal.E001" in ids


def test_deploy_check_warns_on_embedded_setup():
    problems = checks.setup_problems(
        dev_idp=False,
        debug=False,
        database_engine="django.db.backends.sqlite3",
        layer_backend="channels.layers.InMemoryChannelLayer",
        field_key="",
    )
    assert {p.id for p in problems} == {"portal.W001", "portal.W002", "portal.W003"}
    production = checks.setup_problems(
        dev_idp=False,
        debug=False,
        database_engine="django.db.backends.postgresql",
        layer_backend="channels_redis.core.RedisChannelLayer",
        field_key="k",
    )
    assert production == []


def test_env_bool_refuses_nonsense(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from portal.env import env_bool, env_secret

    monkeypatch.setenv("SOME_FLAG", "perhaps")
    with pytest.raises(ImproperlyConfigured, match="SOME_FLAG must be a boolean"):
        env_bool("SOME_FLAG")
    monkeypatch.setenv("SOME_SECRET_FILE", "/nonexistent/secret")
    with pytest.raises(ImproperlyConfigured, match="cannot be read"):
        env_secret("SOME_SECRET")
