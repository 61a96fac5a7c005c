"""RS256 signing keys of tenants: generation, rotation with a grace period, and a per-process key cache.

Private keys are sealed at rest (SigningKey.private_pem is a SealedTextField). Parsing a PEM costs ~50 ms,
so parsed keys are cached per process by kid; which kid is active is cached for a few seconds per tenant.
A process that has not yet seen a rotation keeps signing with the old key for at most that long, which is
harmless: the old public key stays served for the whole grace period.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from meetings.jitsi import RS256, Signer
from portal.process_cache import LocalCache
from tenants.models import SigningKey, Tenant, User
from tenants.services import audit

KEY_BITS = 2048
ACTIVE_KID_TTL = 10.0  # seconds a process trusts its idea of a tenant's active key

# kid -> parsed private key (a kid's key never changes: kept until the process ends or the limit empties it)
_private_keys: LocalCache[Any] = LocalCache(
    "parsed signing keys", max_age=float("inf"), limit=1000, holds="a signing key parsed from its PEM, by kid"
)
# tenant id -> the kid of its active key (a rotation here forgets it at once; other processes within the TTL)
_active: LocalCache[str] = LocalCache(
    "active signing key ids", max_age=ACTIVE_KID_TTL, holds="the kid of a tenant's active signing key"
)


def kid_digest(kid: str) -> str:
    """The file name Prosody asks for: lowercase hex sha256 of the kid string."""
    return hashlib.sha256(kid.encode()).hexdigest()


def grace_period() -> timedelta:
    return timedelta(seconds=settings.SIGNING_KEY_GRACE_SECONDS)


def _new_key_pair() -> tuple[str, str]:
    private = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private_pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private_pem, public_pem


def _new_kid(tenant: Tenant) -> str:
    return f"{tenant.slug}-{timezone.now():%Y%m%d}-{secrets.token_hex(6)}"


@transaction.atomic
def rotate_signing_key(*, tenant: Tenant, actor: User | None) -> SigningKey:
    """Make a fresh key active; the previous active keys retire now and stay served for the grace period."""
    # Lock the tenant row so that two rotations (or a rotation and a first join) cannot both create keys.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    now = timezone.now()
    retired = list(SigningKey.objects.filter(tenant=tenant, is_active=True).values_list("kid", flat=True))
    SigningKey.objects.filter(tenant=tenant, is_active=True).update(is_active=False, retired_at=now)
    private_pem, public_pem = _new_key_pair()
    key = SigningKey.objects.create(
        tenant=tenant, kid=_new_kid(tenant), algorithm=RS256, public_pem=public_pem, private_pem=private_pem
    )
    audit(tenant=tenant, actor=actor, action="signing_key.rotated", target=key.kid, retired=retired)
    transaction.on_commit(lambda: forget_active(tenant.pk))
    return key


@transaction.atomic
def ensure_active_key(*, tenant: Tenant) -> SigningKey:
    """The tenant's active key, generated on first use (the first RS256 join of a new tenant)."""
    Tenant.objects.select_for_update().filter(pk=tenant.pk).first()
    key = SigningKey.objects.filter(tenant=tenant, is_active=True).order_by("-created_at").first()
    if key is not None:
        return key
    private_pem, public_pem = _new_key_pair()
    key = SigningKey.objects.create(
        tenant=tenant, kid=_new_kid(tenant), algorithm=RS256, public_pem=public_pem, private_pem=private_pem
    )
    audit(tenant=tenant, actor=None, action="signing_key.created", target=key.kid)
    return key


def _parsed_private_key(kid: str, pem: str | None = None) -> Any:
    key = _private_keys.value(kid)
    if key is None:
        if pem is None:
            pem = SigningKey.objects.only("private_pem").get(kid=kid).private_pem
        key = serialization.load_pem_private_key(pem.encode(), password=None)
        _private_keys.put(kid, (), key)
    return key


def rs256_signer(tenant: Tenant) -> Signer:
    """A signer with the tenant's active key; costs no query while the active kid is cached."""
    cached_kid = _active.value(tenant.pk)
    cached_key = _private_keys.value(cached_kid) if cached_kid is not None else None
    if cached_key is not None:
        return Signer(algorithm=RS256, key=cached_key, kid=cached_kid)
    row = (
        SigningKey.objects.filter(tenant=tenant, is_active=True)
        .order_by("-created_at")
        .values_list("kid", flat=True)
        .first()
    )
    if row is None:
        created = ensure_active_key(tenant=tenant)
        kid, parsed = created.kid, _parsed_private_key(created.kid, created.private_pem)
    else:
        kid, parsed = row, _parsed_private_key(row)
    _active.put(tenant.pk, (), kid)
    return Signer(algorithm=RS256, key=parsed, kid=kid)


def forget_active(tenant_id: int | None = None) -> None:
    """Drop this process's idea of the active key (after a rotation; tests)."""
    if tenant_id is None:
        _active.clear()
    else:
        _active.discard(tenant_id)


def clear_cache() -> None:
    _active.clear()
    _private_keys.clear()


def served_keys(tenant: Tenant) -> list[SigningKey]:
    """Keys Prosody may still need: the active ones and those retired within the grace period."""
    since = timezone.now() - grace_period()
    return list(
        SigningKey.objects.filter(tenant=tenant)
        .filter(Q(is_active=True) | Q(retired_at__gte=since))
        .defer("private_pem")
    )


def public_pem_by_digest(tenant: Tenant, digest: str) -> str | None:
    """The public key whose sha256(kid) is `digest`, if it is still served."""
    for key in served_keys(tenant):
        if secrets.compare_digest(kid_digest(key.kid), digest.lower()):
            return key.public_pem
    return None
