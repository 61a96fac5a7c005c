"""An operator's first day: secrets shown once or read from files, admins by e-mail or unique ID, the Prosody
configuration printed ready to paste, and the development seed following the JITSI_* variables."""

from __future__ import annotations

import io
import re

import pytest
from django.core.management import CommandError, call_command

from tenants.models import AuditEntry, ExternalIdentity, JitsiDeployment, Membership, Tenant
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

ARGS = [
    "--name",
    "University of Basel",
    "--jitsi-url",
    "https://meet.unibas.ch",
    "--xmpp-domain",
    "meet.unibas.ch",
    "--app-id",
    "auditorium",
]


def create(*extra: str) -> str:
    out = io.StringIO()
    call_command("create_tenant", "unibas", *ARGS, *extra, stdout=out)
    return out.getvalue()


def test_generated_secrets_are_printed_once_and_are_the_stored_ones():
    output = create("--room-api-url", "http://prosody:5280")
    dep = JitsiDeployment.objects.get(tenant__slug="unibas")
    assert f"app_secret: {dep.app_secret}" in output
    assert f"event_secret: {dep.event_secret}" in output
    assert dep.room_api_url == "http://prosody:5280"


def test_secrets_from_files_are_used_and_not_printed(tmp_path):
    (tmp_path / "app").write_text("app-secret-from-a-file-0123456789abcdef\n")
    (tmp_path / "event").write_text("event-secret-from-a-file-0123456789abcdef\n")
    output = create(
        "--app-secret-file", str(tmp_path / "app"), "--event-secret-file", str(tmp_path / "event")
    )
    dep = JitsiDeployment.objects.get(tenant__slug="unibas")
    assert dep.app_secret == "app-secret-from-a-file-0123456789abcdef"
    assert dep.event_secret == "event-secret-from-a-file-0123456789abcdef"
    assert "secret-from-a-file" not in output and "Generated secrets" not in output


def test_rs256_generates_no_app_secret():
    output = create("--algorithm", "RS256")
    assert "app_secret" not in output and "event_secret: " in output


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--app-secret-file", "/nonexistent/secret"], "cannot read /nonexistent/secret"),
        (["--app-secret", "x" * 40, "--app-secret-file", "/etc/hostname"], "not both"),
    ],
)
def test_bad_secret_options_are_refused_and_nothing_is_written(extra, message):
    with pytest.raises(CommandError, match=message):
        create(*extra)
    assert not Tenant.objects.exists()


def test_empty_secret_file_is_refused(tmp_path):
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(CommandError, match="is empty"):
        create("--event-secret-file", str(tmp_path / "empty"))
    assert not Tenant.objects.exists()


def test_admin_by_email_or_unique_id():
    by_mail = UserFactory(username="u-aaa", email="Lena.Admin@unibas.ch")
    by_id = UserFactory(username="u-bbb", email="")
    ExternalIdentity.objects.create(
        user=by_id, issuer="https://eduid.ch/idp/shibboleth", kind="subject-id", value="8721@eduid.ch"
    )
    create("--admin", "lena.admin@unibas.ch", "--admin", "8721@eduid.ch")
    admins = Membership.objects.filter(tenant__slug="unibas", role=Membership.Role.ADMIN)
    assert set(admins.values_list("user__username", flat=True)) == {"u-aaa", "u-bbb"}
    assert by_mail.pk and by_id.pk


def test_an_ambiguous_admin_is_refused():
    UserFactory(username="u-one", email="shared@unibas.ch")
    UserFactory(username="u-two", email="shared@unibas.ch")
    with pytest.raises(CommandError, match="several people"):
        create("--admin", "shared@unibas.ch")
    assert not Tenant.objects.exists()


def prosody_config(*args: str) -> str:
    out = io.StringIO()
    call_command("prosody_config", *args, stdout=out)
    return out.getvalue()


def test_prosody_config_hs256_carries_what_prosody_checks(settings):
    settings.PUBLIC_URL = "https://portal.example.org"
    create("--room-api-url", "http://prosody:5280")
    dep = JitsiDeployment.objects.get(tenant__slug="unibas")
    text = prosody_config("unibas")
    assert 'VirtualHost "meet.unibas.ch"' in text
    assert 'authentication = "token"' in text
    assert 'app_id = "auditorium"' in text
    assert f'app_secret = "{dep.app_secret}"' in text
    assert 'asap_accepted_audiences = { "jitsi" }' in text
    assert "token_affiliation" in text and "muc_size" in text
    assert 'Component "event_sync.meet.unibas.ch" "event_sync_component"' in text
    assert 'muc_component = "conference.meet.unibas.ch"' in text
    assert 'api_prefix = "https://portal.example.org/jitsi/unibas"' in text
    assert f'["Authorization"] = "Bearer {dep.event_secret}"' in text
    assert "asap_key_server" not in text
    # Every string literal is closed and every brace matched: what Lua's parser needs first.
    assert text.count('"') % 2 == 0 and text.count("{") == text.count("}")


def test_prosody_config_rs256_points_at_the_key_server_and_hides_secrets_on_request(settings):
    settings.PUBLIC_URL = "https://portal.example.org"
    create("--algorithm", "RS256")
    dep = JitsiDeployment.objects.get(tenant__slug="unibas")
    text = prosody_config("unibas", "--no-secrets")
    assert 'asap_key_server = "https://portal.example.org/jitsi/unibas/asap"' in text
    assert "app_secret" not in text
    assert dep.event_secret not in text and "<hidden" in text
    assert "no room API URL" in text


def test_prosody_config_of_an_unknown_tenant_is_refused():
    with pytest.raises(CommandError, match="no tenant 'nope'"):
        prosody_config("nope")


def test_seed_demo_follows_changed_jitsi_variables(monkeypatch):
    call_command("seed_demo", stdout=io.StringIO())
    monkeypatch.setenv("JITSI_APP_SECRET", "a-new-development-app-secret-0123456789")
    monkeypatch.setenv("JITSI_ROOM_API_URL", "http://127.0.0.1:5280")
    out = io.StringIO()
    call_command("seed_demo", stdout=out)
    dep = JitsiDeployment.objects.get(tenant__slug="demo")
    assert dep.app_secret == "a-new-development-app-secret-0123456789"
    assert dep.room_api_url == "http://127.0.0.1:5280"
    assert re.search(r"follows JITSI_\*: app_secret, room_api_url", out.getvalue())
    assert "a-new-development-app-secret" not in out.getvalue()  # names, never values
    entry = AuditEntry.objects.get(action="deployment.changed")
    assert entry.data == {"fields": ["app_secret", "room_api_url"]}
    again = io.StringIO()
    call_command("seed_demo", stdout=again)
    assert "follows JITSI_" not in again.getvalue()  # nothing changed, nothing written


@pytest.mark.parametrize(
    "url", ["http://prosody:5280", "https://xmpp.unibas.ch", "http://10.0.0.7:5280/", "http://[::1]:5280"]
)
def test_room_api_urls_of_container_networks_are_accepted(url):
    from tenants.fields import validate_service_url

    validate_service_url(url)


@pytest.mark.parametrize(
    "url",
    [
        "ftp://prosody",
        "prosody:5280",
        "http://",
        "http://user:pw@prosody",
        "http://pro sody",
        "http://a:99999",
    ],
)
def test_room_api_urls_that_are_not_http_services_are_refused(url):
    from django.core.exceptions import ValidationError

    from tenants.fields import validate_service_url

    with pytest.raises(ValidationError):
        validate_service_url(url)
