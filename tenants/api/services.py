"""State changes of personal API tokens (issue, revoke, record use)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from tenants.models import ApiToken, Membership, Tenant, User
from tenants.services import audit

# What each role may do. A session user has all the scopes of their role; a token has the scopes it was
# given, narrowed to its owner's current role (a demoted host's token loses rooms:write at once).
ROLE_SCOPES: dict[str, frozenset[str]] = {
    Membership.Role.MEMBER: frozenset({ApiToken.Scope.ROOMS_READ, ApiToken.Scope.JOIN}),
    Membership.Role.HOST: frozenset(
        {ApiToken.Scope.ROOMS_READ, ApiToken.Scope.ROOMS_WRITE, ApiToken.Scope.JOIN}
    ),
    Membership.Role.ADMIN: frozenset(ApiToken.Scope.values),
}

TOKEN_MARK = "aud_"  # noqa: S105 - the public marker every token starts with, not a secret
PREFIX_LENGTH = 10
# The secret is 32 random bytes; a token reads `aud_<prefix>_<secret>`.
LAST_USED_RESOLUTION = timedelta(minutes=1)
MAX_LIFETIME_DAYS = 366


def role_scopes(membership: Membership | None) -> frozenset[str]:
    if membership is None or membership.is_blocked:
        return frozenset()
    return ROLE_SCOPES.get(membership.role, frozenset())


def hash_secret(secret: str) -> str:
    """SHA-256 of the secret. The secret has 256 random bits, so no salt or slow hash is needed (and a
    key from SECRET_KEY would invalidate every token when that key rotates)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def secret_matches(token: ApiToken, secret: str) -> bool:
    return hmac.compare_digest(token.secret_hash, hash_secret(secret))


def split_token(raw: str) -> tuple[str, str] | None:
    """`aud_<prefix>_<secret>` -> (prefix, secret), or None when it has another shape."""
    if not raw.startswith(TOKEN_MARK):
        return None
    body = raw[len(TOKEN_MARK) :]
    prefix, sep, secret = (
        body[:PREFIX_LENGTH],
        body[PREFIX_LENGTH : PREFIX_LENGTH + 1],
        body[PREFIX_LENGTH + 1 :],
    )
    if sep != "_" or len(prefix) != PREFIX_LENGTH or not secret or len(secret) > 100:
        return None
    return prefix, secret


@dataclass(frozen=True)
class IssuedToken:
    token: ApiToken
    plaintext: str  # shown once to the person; never stored


@transaction.atomic
def issue_token(
    *, actor: User, tenant: Tenant, name: str, scopes: list[str], lifetime_days: int
) -> IssuedToken:
    """Create a token for `actor` in `tenant`. Callers check that the scopes fit the actor's role."""
    prefix = secrets.token_hex(PREFIX_LENGTH // 2)
    secret = secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=actor,
        tenant=tenant,
        name=name,
        prefix=prefix,
        secret_hash=hash_secret(secret),
        scopes=sorted(set(scopes)),
        expires_at=timezone.now() + timedelta(days=lifetime_days),
    )
    audit(
        tenant=tenant,
        actor=actor,
        action="api_token.created",
        target=name,
        prefix=prefix,
        scopes=token.scopes,
    )
    return IssuedToken(token=token, plaintext=f"{TOKEN_MARK}{prefix}_{secret}")


@transaction.atomic
def revoke_token(*, actor: User, token: ApiToken) -> ApiToken:
    """Revoke a token (idempotent); it stays listed as revoked."""
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit(
            tenant=token.tenant,
            actor=actor,
            action="api_token.revoked",
            target=token.name,
            prefix=token.prefix,
        )
    return token


def record_token_use(*, token: ApiToken) -> None:
    """Remember when a token was last used, at most once a minute so that most requests write nothing."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    # The token itself, used while it authenticates (before the request's tenant scope is entered).
    ApiToken.objects.cross_tenant().filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
