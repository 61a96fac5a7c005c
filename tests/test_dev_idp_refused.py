"""The development IdP signs in anyone as anyone: a process without DEBUG refuses to start with it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def load(module: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v for k, v in os.environ.items() if k not in {"DEBUG", "PORTAL_DEV_IDP", "DJANGO_SETTINGS_MODULE"}
    }
    clean.update(SECRET_KEY="x" * 50, DJANGO_SETTINGS_MODULE="portal.settings", **env)
    return subprocess.run(
        [sys.executable, "-c", f"import {module}"],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("module", ["portal.settings", "portal.wsgi", "portal.asgi"])
def test_dev_idp_without_debug_refuses_to_load(module: str) -> None:
    """portal.wsgi is what gunicorn imports, portal.asgi what Daphne imports: neither starts."""
    done = load(module, PORTAL_DEV_IDP="1", DEBUG="0")
    assert done.returncode != 0
    assert "ImproperlyConfigured" in done.stderr
    assert "PORTAL_DEV_IDP=1 mounts the development IdP" in done.stderr
    assert "Unset PORTAL_DEV_IDP in production" in done.stderr


def test_dev_idp_with_debug_and_production_without_it_load() -> None:
    assert load("portal.settings", PORTAL_DEV_IDP="1", DEBUG="1").returncode == 0
    done = load("portal.settings", PORTAL_DEV_IDP="0", DEBUG="0")
    assert done.returncode == 0, done.stderr
