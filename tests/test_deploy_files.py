"""The deployment files in portal/deploy: nginx accepts the site, systemd accepts the units, and the units
start programs and management commands that exist."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

from tests.conftest import require

DEPLOY = Path(__file__).resolve().parents[1] / "portal" / "deploy"
VENV_BIN = Path(sys.executable).parent
UNITS = sorted((DEPLOY / "systemd").glob("auditorium-*.*"))


def self_signed(tmp_path: Path) -> tuple[Path, Path]:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=portal.test", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def nginx_test(folder: Path) -> subprocess.CompletedProcess[str]:
    """`nginx -t` of folder/nginx.conf, with its prefix, pid and error log in that folder."""
    return subprocess.run(
        ["nginx", "-t", "-p", str(folder), "-e", str(folder / "error.log"), "-c", str(folder / "nginx.conf")],
        capture_output=True,
        text=True,
    )


def test_nginx_accepts_the_site(tmp_path):
    require(shutil.which("nginx") is not None, "Debian's nginx")
    cert, key = self_signed(tmp_path)
    site = (DEPLOY / "nginx" / "auditorium.conf").read_text()
    site = site.replace("/etc/ssl/certs/auditorium.pem", str(cert)).replace(
        "/etc/ssl/private/auditorium.key", str(key)
    )
    site = site.replace(
        "/etc/nginx/snippets/auditorium-hls.conf", str(DEPLOY / "nginx" / "auditorium-hls.conf")
    )
    (tmp_path / "site.conf").write_text(site)
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nerror_log {tmp_path}/error.log;\nevents {{}}\n"
        f"http {{\n  include /etc/nginx/mime.types;\n  access_log off;\n  include {tmp_path}/site.conf;\n}}\n"
    )
    found = nginx_test(tmp_path)
    assert found.returncode == 0, found.stderr
    assert "syntax is ok" in found.stderr


def test_a_broken_site_is_caught(tmp_path):
    """The check above can fail: nginx refuses a site with a typo in a directive."""
    require(shutil.which("nginx") is not None, "Debian's nginx")
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path}/nginx.pid;\nevents {{}}\nhttp {{ server {{ proxy_passs http://x; }} }}\n"
    )
    found = nginx_test(tmp_path)
    assert found.returncode != 0 and "proxy_passs" in found.stderr


def test_systemd_accepts_the_units_with_this_checkouts_programs(tmp_path):
    require(shutil.which("systemd-analyze") is not None, "systemd-analyze")
    (tmp_path / "env").write_text("")
    for unit in UNITS:
        text = unit.read_text().replace("/opt/auditorium/.venv/bin", str(VENV_BIN))
        text = text.replace("/etc/auditorium/env", str(tmp_path / "env"))
        (tmp_path / unit.name).write_text(text)
    found = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *(str(tmp_path / unit.name) for unit in UNITS)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert found.returncode == 0, found.stdout + found.stderr


def exec_lines() -> list[str]:
    return [
        line.split("=", 1)[1]
        for unit in UNITS
        for line in unit.read_text().splitlines()
        if line.startswith("ExecStart=")
    ]


def test_units_start_programs_of_the_virtualenv_and_existing_commands():
    commands = get_commands()
    named = []
    for line in exec_lines():
        program, *args = line.split()
        assert program.startswith("/opt/auditorium/.venv/bin/"), line
        assert (VENV_BIN / Path(program).name).exists(), f"{program} is not installed by pyproject.toml"
        if args[:1] == ["manage.py"]:
            named.append(args[1])
            assert args[1] in commands, f"no management command {args[1]!r}"
    assert {
        "import_federation_metadata",
        "reconcile_counts",
        "purge_occupancies",
        "expire_anonymous_rooms",
        "procrastinate",
    } <= set(named)


@pytest.mark.parametrize("timer", [u for u in UNITS if u.suffix == ".timer"], ids=lambda u: u.name)
def test_every_timer_has_its_service(timer):
    assert timer.with_suffix(".service").exists()
    assert re.search(r"^OnCalendar=\S+", timer.read_text(), re.MULTILINE)


def test_the_portal_reconciles_counts_whenever_it_starts():
    """Events that came while the portal was down are lost after Prosody's retries: every start of the HTTP
    service runs the reconciliation once, ordered after it; the timer repeats it."""
    http = (DEPLOY / "systemd" / "auditorium-http.service").read_text()
    reconcile = (DEPLOY / "systemd" / "auditorium-reconcile.service").read_text()
    assert re.search(r"^Wants=auditorium-reconcile\.service$", http, re.MULTILINE)
    assert re.search(r"^After=.*\bauditorium-http\.service\b", reconcile, re.MULTILINE)
