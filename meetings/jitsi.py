"""Room tokens for Jitsi's Prosody token plugin (CONTRACTS.md §1). Pure functions: no database, no I/O.

The caller hands in the deployment's settings, the signing material and who joins; this module only shapes
and signs the claims. Keys arrive already parsed (see tenants/keys.py): parsing a PEM costs ~50 ms.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol
from urllib.parse import quote, unquote, urlencode, urlsplit

import jwt

# What Prosody's token plugin and the web client send and accept; see CONTRACTS.md §1.
HS256 = "HS256"
RS256 = "RS256"
ALGORITHMS = frozenset({HS256, RS256})
NOT_BEFORE_SKEW = timedelta(seconds=60)

# encodeURIComponent leaves these unescaped; Python's quote() must be told so to produce the same node.
_URI_COMPONENT_SAFE = "-_.!~*'()"


class DeploymentLike(Protocol):
    """The parts of a JitsiDeployment a token needs (the model satisfies it)."""

    app_id: str
    audience: str
    algorithm: str
    base_url: str
    tenant_path: str

    @property
    def sub(self) -> str: ...


@dataclass(frozen=True)
class Signer:
    """Signing material of one deployment: the HS256 secret, or a parsed RS256 private key and its kid."""

    algorithm: str
    key: Any
    kid: str | None = None

    def __post_init__(self) -> None:
        if self.algorithm not in ALGORITHMS:
            raise ValueError(f"unsupported algorithm {self.algorithm!r}")
        if self.algorithm == RS256 and not self.kid:
            raise ValueError("RS256 tokens need a kid (Prosody fetches the public key by it)")
        if not self.key:
            raise ValueError("no signing key")


@dataclass(frozen=True)
class Participant:
    """Who the token is for, as Jitsi shows them and reports them back in events."""

    id: str
    name: str
    moderator: bool = False
    email: str | None = None
    avatar: str | None = None


@dataclass(frozen=True)
class RoomToken:
    jwt: str
    room: str  # backend-safe room name, as in the `room` claim
    expires_at: datetime
    claims: Mapping[str, Any] = field(repr=False)


def backend_room_name(name: str) -> str:
    """The MUC node Jitsi derives from a typed room name, which the `room` claim must equal.

    decodeURIComponent → NFKC → lowercase → encodeURIComponent → lowercase: `Müller` → `m%c3%bcller`.
    """
    decoded = unquote(name, errors="strict")
    normalized = unicodedata.normalize("NFKC", decoded).lower()
    return quote(normalized, safe=_URI_COMPONENT_SAFE).lower()


def conference_path(deployment: DeploymentLike, room: str) -> str:
    """The room as the IFrame API's `roomName` expects it: `tenant/room` on tenant-path deployments."""
    return f"{deployment.tenant_path}/{room}" if deployment.tenant_path else room


def meeting_url(deployment: DeploymentLike, room: str) -> str:
    """The browser URL of the meeting (without the token: tokens in URLs end up in logs)."""
    return f"{deployment.base_url.rstrip('/')}/{conference_path(deployment, room)}"


def meeting_url_with_token(url: str, jwt: str) -> str:
    """The meeting's URL carrying the token (`?jwt=`, where Jitsi's web client reads it): the "Open in
    Jitsi" fallback of the meeting page, for a token-protected deployment. Pages that show it send no
    referrer, so the token does not leak to other sites."""
    return f"{url}?{urlencode({'jwt': jwt})}"


def iframe_domain(deployment: DeploymentLike) -> str:
    """The first argument of `new JitsiMeetExternalAPI(domain, ...)`: host (and any path) without scheme."""
    parts = urlsplit(deployment.base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}"


def token_expiry(
    *, now: datetime, closes_at: datetime | None, grace: timedelta, longest: timedelta
) -> datetime:
    """Long enough for reconnects until the meeting ends (plus grace), never longer than `longest`."""
    cap = now + longest
    if closes_at is None:
        return cap
    return max(min(closes_at + grace, cap), now + grace)


def room_claims(
    *,
    deployment: DeploymentLike,
    room: str,
    participant: Participant,
    now: datetime,
    expires_at: datetime,
    features: Mapping[str, bool] | None = None,
    room_flags: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    user: dict[str, Any] = {
        "id": participant.id,
        "name": participant.name,
        "moderator": participant.moderator,
        # Read by the MUC affiliation module: owner makes the occupant a moderator, member grants nothing.
        "affiliation": "owner" if participant.moderator else "member",
    }
    if participant.email:
        user["email"] = participant.email
    if participant.avatar:
        user["avatar"] = participant.avatar
    context: dict[str, Any] = {
        "user": user,
        # Prosody enables a feature only for true or "true": send real booleans, nothing else.
        "features": {name: bool(on) for name, on in (features or {}).items()},
    }
    if room_flags:
        context["room"] = dict(room_flags)
    return {
        "iss": deployment.app_id,
        "aud": deployment.audience,
        "sub": deployment.sub,
        "room": backend_room_name(room),
        "iat": int(now.timestamp()),
        "nbf": int((now - NOT_BEFORE_SKEW).timestamp()),
        "exp": int(expires_at.timestamp()),
        "context": context,
    }


def mint_room_token(
    *,
    deployment: DeploymentLike,
    signer: Signer,
    room: str,
    participant: Participant,
    now: datetime,
    expires_at: datetime,
    features: Mapping[str, bool] | None = None,
    room_flags: Mapping[str, Any] | None = None,
) -> RoomToken:
    """Sign a join token for one room. The algorithm is the deployment's, never chosen by the caller."""
    if signer.algorithm != deployment.algorithm:
        raise ValueError(f"deployment uses {deployment.algorithm}, signer holds {signer.algorithm}")
    claims = room_claims(
        deployment=deployment,
        room=room,
        participant=participant,
        now=now,
        expires_at=expires_at,
        features=features,
        room_flags=room_flags,
    )
    headers: dict[str, Any] = {"typ": "JWT"}
    if signer.kid:
        headers["kid"] = signer.kid
    token = jwt.encode(claims, signer.key, algorithm=signer.algorithm, headers=headers)
    # Report the expiry as the token states it: whole seconds.
    exact = datetime.fromtimestamp(claims["exp"], tz=expires_at.tzinfo)
    return RoomToken(jwt=token, room=claims["room"], expires_at=exact, claims=claims)
