"""Verify a room token the way Prosody's token plugin does (CONTRACTS.md §1), with pyjwt."""

from __future__ import annotations

from typing import Any

import jwt


def verify_like_prosody(
    token: str,
    *,
    key: Any,
    algorithm: str,
    app_id: str,
    audience: str,
    sub: str,
    room: str,
) -> dict[str, Any]:
    """Raise when Prosody would refuse the token for `room`; return the claims otherwise."""
    header = jwt.get_unverified_header(token)
    assert header.get("typ") == "JWT", "Prosody rejects tokens without typ JWT"
    assert header.get("alg") == algorithm, "the algorithm is pinned per deployment"
    if algorithm == "RS256":
        assert header.get("kid"), "RS256 needs a kid"
    claims = jwt.decode(
        token,
        key,
        algorithms=[algorithm],  # pinned: none, HS512 or RS-on-HS are refused
        audience=audience,
        issuer=app_id,
        leeway=0,  # Prosody allows no leeway on exp and nbf
        options={"require": ["iss", "aud", "sub", "room", "exp", "nbf"]},
    )
    assert isinstance(claims["aud"], str), "aud must be a JSON string"
    assert claims["sub"] in {sub, "*"}
    assert claims["room"] != "*"
    assert claims["room"] == claims["room"].lower() == room, "Room and token mismatched"
    return claims
