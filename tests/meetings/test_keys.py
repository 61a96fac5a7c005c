"""RS256 signing keys: rotation with a grace period, the ASAP key server Prosody fetches from, the cache."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from io import StringIO

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from meetings.jitsi import RS256
from meetings.joining import JoinTicket, join_room
from tenants import keys
from tenants.models import AuditEntry, JitsiDeployment, SigningKey
from tests.factories import MembershipFactory, RoomFactory, TenantFactory
from tests.meetings.prosody_rules import verify_like_prosody


@pytest.fixture(autouse=True)
def _fresh_cache():
    keys.clear_cache()
    yield
    keys.clear_cache()


@pytest.fixture
def rs_tenant(db):
    tenant = TenantFactory(
        slug="epfl", deployment__algorithm=JitsiDeployment.Algorithm.RS256, deployment__app_secret=""
    )
    return tenant


def key_url(deployment: JitsiDeployment, kid: str) -> str:
    return f"/jitsi/{deployment.slug}/asap/{hashlib.sha256(kid.encode()).hexdigest()}.pem"


def test_rotation_serves_old_key_during_grace_and_not_after(client, rs_tenant, settings) -> None:
    first = keys.rotate_signing_key(tenant=rs_tenant, actor=None)
    second = keys.rotate_signing_key(tenant=rs_tenant, actor=None)
    first.refresh_from_db()
    assert not first.is_active and first.retired_at is not None
    assert second.is_active
    dep = rs_tenant.deployment
    for key in (first, second):
        response = client.get(key_url(dep, key.kid))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/x-pem-file"
        assert response.content.decode() == key.public_pem
        assert b"PRIVATE" not in response.content
    # Past the grace period the retired key is gone; the active one stays.
    SigningKey.objects.filter(pk=first.pk).update(
        retired_at=timezone.now() - timedelta(seconds=settings.SIGNING_KEY_GRACE_SECONDS + 1)
    )
    assert client.get(key_url(dep, first.kid)).status_code == 404
    assert client.get(key_url(dep, second.kid)).status_code == 200
    assert AuditEntry.objects.filter(tenant=rs_tenant, action="signing_key.rotated").count() == 2


def test_key_endpoint_404s(client, rs_tenant, other_tenant) -> None:
    key = keys.rotate_signing_key(tenant=rs_tenant, actor=None)
    digest = hashlib.sha256(key.kid.encode()).hexdigest()
    assert client.get(f"/jitsi/{rs_tenant.deployment.slug}/asap/{'0' * 64}.pem").status_code == 404
    assert client.get(f"/jitsi/{rs_tenant.deployment.slug}/asap/{digest.upper()}.pem").status_code == 404
    assert client.get(f"/jitsi/{rs_tenant.deployment.slug}/asap/{key.kid}.pem").status_code == 404
    assert client.get(f"/jitsi/nope/asap/{digest}.pem").status_code == 404
    # Another tenant's deployment does not serve this tenant's key.
    assert client.get(f"/jitsi/{other_tenant.deployment.slug}/asap/{digest}.pem").status_code == 404


def test_rs256_join_token_verifies_with_key_fetched_by_kid_hash(client, rs_tenant) -> None:
    member = MembershipFactory(tenant=rs_tenant).user
    room = RoomFactory(tenant=rs_tenant, name="physics-101")
    ticket = join_room(room=room, user=member, now=timezone.now())
    assert isinstance(ticket, JoinTicket)
    kid = jwt.get_unverified_header(ticket.jwt)["kid"]
    # Prosody's way: GET <asap_key_server>/<sha256 hex of kid>.pem, then verify.
    response = client.get(key_url(rs_tenant.deployment, kid))
    assert response.status_code == 200
    public_key = serialization.load_pem_public_key(response.content)
    dep = rs_tenant.deployment
    claims = verify_like_prosody(
        ticket.jwt,
        key=public_key,
        algorithm=RS256,
        app_id=dep.app_id,
        audience=dep.audience,
        sub=dep.sub,
        room="physics-101",
    )
    assert claims["context"]["user"]["id"] == str(member.public_id)


def test_token_signed_before_rotation_still_verifies_during_grace(client, rs_tenant) -> None:
    member = MembershipFactory(tenant=rs_tenant).user
    room = RoomFactory(tenant=rs_tenant, name="chem-1")
    before = join_room(room=room, user=member, now=timezone.now())
    assert isinstance(before, JoinTicket)
    keys.rotate_signing_key(tenant=rs_tenant, actor=None)
    keys.forget_active()  # what on_commit does in a real transaction
    after = join_room(room=room, user=member, now=timezone.now())
    assert isinstance(after, JoinTicket)
    old_kid, new_kid = (jwt.get_unverified_header(t.jwt)["kid"] for t in (before, after))
    assert old_kid != new_kid
    for token, kid in ((before, old_kid), (after, new_kid)):
        pem = client.get(key_url(rs_tenant.deployment, kid)).content
        jwt.decode(token.jwt, serialization.load_pem_public_key(pem), algorithms=["RS256"], audience="jitsi")


def test_first_join_creates_the_key_and_cache_skips_pem_parsing(
    rs_tenant, django_assert_num_queries, monkeypatch
) -> None:
    assert not SigningKey.objects.filter(tenant=rs_tenant).exists()
    signer = keys.rs256_signer(rs_tenant)
    assert SigningKey.objects.filter(tenant=rs_tenant, is_active=True).count() == 1
    parses = []
    real = serialization.load_pem_private_key
    monkeypatch.setattr(
        serialization, "load_pem_private_key", lambda *a, **k: parses.append(1) or real(*a, **k)
    )
    with django_assert_num_queries(0):
        again = keys.rs256_signer(rs_tenant)
    assert again.kid == signer.kid and again.key is signer.key
    assert parses == []


def test_rotate_command(rs_tenant) -> None:
    out = StringIO()
    call_command("rotate_signing_key", "epfl", stdout=out)
    key = SigningKey.objects.get(tenant=rs_tenant, is_active=True)
    assert key.kid in out.getvalue()
    assert hashlib.sha256(key.kid.encode()).hexdigest() in out.getvalue()
    with pytest.raises(CommandError):
        call_command("rotate_signing_key", "nope")


def test_private_key_is_sealed_at_rest(rs_tenant) -> None:
    from django.db import connection

    key = keys.rotate_signing_key(tenant=rs_tenant, actor=None)
    with connection.cursor() as cursor:
        cursor.execute("SELECT private_pem FROM tenants_signingkey WHERE id = %s", [key.pk])
        stored = cursor.fetchone()[0]
    assert "PRIVATE KEY" not in stored
    assert "PRIVATE KEY" in SigningKey.objects.get(pk=key.pk).private_pem
