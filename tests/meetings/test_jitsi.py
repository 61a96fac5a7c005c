"""Room tokens (meetings/jitsi.py) checked against Prosody's rules with pyjwt."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from hypothesis import given
from hypothesis import strategies as st

from meetings import jitsi
from tests.meetings.prosody_rules import verify_like_prosody

SECRET = "a-shared-app-secret-of-at-least-32-bytes"
NOW = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)  # fixed, in the past: decoded without time checks


@dataclass
class Deployment:
    app_id: str = "auditorium-uzh"
    audience: str = "jitsi"
    algorithm: str = "HS256"
    base_url: str = "https://meet.uzh.example.org"
    tenant_path: str = ""
    xmpp_domain: str = "meet.uzh.example.org"

    @property
    def sub(self) -> str:
        return self.tenant_path or self.xmpp_domain


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def mint(
    deployment: Deployment, signer: jitsi.Signer, room: str = "lecture-1", **kw: object
) -> jitsi.RoomToken:
    participant = kw.pop("participant", jitsi.Participant(id="u-1", name="Ada"))
    return jitsi.mint_room_token(
        deployment=deployment,
        signer=signer,
        room=room,
        participant=participant,  # type: ignore[arg-type]
        now=kw.pop("now", datetime.now(UTC)),  # type: ignore[arg-type]
        expires_at=kw.pop("expires_at", datetime.now(UTC) + timedelta(hours=1)),  # type: ignore[arg-type]
        **kw,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("typed", "node"),
    [
        ("Müller", "m%c3%bcller"),
        ("m%C3%BCller", "m%c3%bcller"),  # already encoded: decoded first
        ("lecture-1", "lecture-1"),
        ("Room With Spaces", "room%20with%20spaces"),
        ("\uff46\uff55\uff4c\uff4c", "full"),  # NFKC folds compatibility characters
        ("ﬁsh", "fish"),  # ligature
        ("Straße", "stra%c3%9fe"),  # lower() keeps ß
        ("it's(ok)!~*", "it's(ok)!~*"),  # encodeURIComponent leaves these alone
        ("a/b?c#d", "a%2fb%3fc%23d"),
    ],
)
def test_backend_room_name(typed: str, node: str) -> None:
    assert jitsi.backend_room_name(typed) == node


@given(st.text(min_size=1, max_size=30))
def test_backend_room_name_is_stable(name: str) -> None:
    try:
        once = jitsi.backend_room_name(name)
    except UnicodeDecodeError:  # like decodeURIComponent, a broken %-sequence is refused
        return
    assert once == once.lower()
    assert jitsi.backend_room_name(once) == once  # the web client would arrive at the same node


def test_hs256_token_passes_prosody_rules() -> None:
    dep = Deployment()
    token = mint(
        dep,
        jitsi.Signer("HS256", SECRET),
        now=NOW - timedelta(seconds=5),
        expires_at=NOW + timedelta(hours=1),
    )
    # Decode against a fixed clock before exp.
    claims = jwt.decode(
        token.jwt,
        SECRET,
        algorithms=["HS256"],
        audience="jitsi",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )
    header = jwt.get_unverified_header(token.jwt)
    assert header == {"alg": "HS256", "typ": "JWT"}
    assert claims["iss"] == "auditorium-uzh"
    assert claims["aud"] == "jitsi"
    assert claims["sub"] == "meet.uzh.example.org"
    assert claims["room"] == "lecture-1"
    assert claims["nbf"] == int((NOW - timedelta(seconds=65)).timestamp())
    assert claims["iat"] == int((NOW - timedelta(seconds=5)).timestamp())
    assert claims["exp"] == int((NOW + timedelta(hours=1)).timestamp())
    assert claims["context"]["user"] == {
        "id": "u-1",
        "name": "Ada",
        "moderator": False,
        "affiliation": "member",
    }


def test_current_token_verifies_with_zero_leeway() -> None:
    dep = Deployment()
    token = mint(dep, jitsi.Signer("HS256", SECRET))
    verify_like_prosody(
        token.jwt,
        key=SECRET,
        algorithm="HS256",
        app_id=dep.app_id,
        audience="jitsi",
        sub=dep.sub,
        room="lecture-1",
    )


def test_tenant_path_deployment_uses_tenant_as_sub() -> None:
    dep = Deployment(tenant_path="uzh")
    token = mint(dep, jitsi.Signer("HS256", SECRET), room="Müller")
    claims = verify_like_prosody(
        token.jwt,
        key=SECRET,
        algorithm="HS256",
        app_id=dep.app_id,
        audience="jitsi",
        sub="uzh",
        room="m%c3%bcller",
    )
    assert claims["sub"] == "uzh"
    assert token.room == "m%c3%bcller"
    assert jitsi.conference_path(dep, token.room) == "uzh/m%c3%bcller"
    assert jitsi.meeting_url(dep, token.room) == "https://meet.uzh.example.org/uzh/m%c3%bcller"
    assert jitsi.iframe_domain(dep) == "meet.uzh.example.org"


def test_rs256_token_has_kid_and_verifies_with_public_key(rsa_key: rsa.RSAPrivateKey) -> None:
    dep = Deployment(algorithm="RS256")
    token = mint(dep, jitsi.Signer("RS256", rsa_key, kid="uzh-1"))
    assert jwt.get_unverified_header(token.jwt) == {"alg": "RS256", "typ": "JWT", "kid": "uzh-1"}
    verify_like_prosody(
        token.jwt,
        key=rsa_key.public_key(),
        algorithm="RS256",
        app_id=dep.app_id,
        audience="jitsi",
        sub=dep.sub,
        room="lecture-1",
    )


def test_moderator_claims_and_features() -> None:
    dep = Deployment()
    host = jitsi.Participant(id="h-1", name="Prof", moderator=True, email="prof@uzh.ch")
    token = mint(
        dep,
        jitsi.Signer("HS256", SECRET),
        participant=host,
        features={"recording": True, "livestreaming": 0, "screen-sharing": 1},
        room_flags={"lobby": True},
    )
    claims = jwt.decode(token.jwt, SECRET, algorithms=["HS256"], audience="jitsi")
    assert claims["context"]["user"] == {
        "id": "h-1",
        "name": "Prof",
        "moderator": True,
        "affiliation": "owner",
        "email": "prof@uzh.ch",
    }
    # Prosody enables only exactly true: every value is a JSON boolean.
    assert claims["context"]["features"] == {
        "recording": True,
        "livestreaming": False,
        "screen-sharing": True,
    }
    assert claims["context"]["room"] == {"lobby": True}


@pytest.mark.parametrize("bad", ["none", "HS512", "wrong-key", "rs-on-hs"])
def test_tokens_prosody_refuses(bad: str, rsa_key: rsa.RSAPrivateKey) -> None:
    dep = Deployment()
    claims = jitsi.room_claims(
        deployment=dep,
        room="lecture-1",
        participant=jitsi.Participant(id="x", name="Eve"),
        now=datetime.now(UTC),
        expires_at=datetime.now(UTC) + timedelta(hours=1),
    )
    if bad == "none":
        token = jwt.encode(claims, None, algorithm="none")
    elif bad == "HS512":
        token = jwt.encode(claims, SECRET * 2, algorithm="HS512", headers={"typ": "JWT"})
    elif bad == "wrong-key":
        token = jwt.encode(claims, "another-secret-that-is-long-enough-123", algorithm="HS256")
    else:
        token = jwt.encode(claims, rsa_key, algorithm="RS256", headers={"kid": "k"})
    with pytest.raises((jwt.InvalidTokenError, AssertionError)):
        verify_like_prosody(
            token,
            key=SECRET,
            algorithm="HS256",
            app_id=dep.app_id,
            audience="jitsi",
            sub=dep.sub,
            room="lecture-1",
        )


def test_expired_and_not_yet_valid_tokens_fail_without_leeway() -> None:
    dep = Deployment()
    old = mint(
        dep,
        jitsi.Signer("HS256", SECRET),
        now=datetime.now(UTC) - timedelta(hours=2),
        expires_at=datetime.now(UTC) - timedelta(seconds=1),
    )
    with pytest.raises(jwt.ExpiredSignatureError):
        verify_like_prosody(
            old.jwt,
            key=SECRET,
            algorithm="HS256",
            app_id=dep.app_id,
            audience="jitsi",
            sub=dep.sub,
            room="lecture-1",
        )
    future = mint(dep, jitsi.Signer("HS256", SECRET), now=datetime.now(UTC) + timedelta(minutes=5))
    with pytest.raises(jwt.ImmatureSignatureError):
        verify_like_prosody(
            future.jwt,
            key=SECRET,
            algorithm="HS256",
            app_id=dep.app_id,
            audience="jitsi",
            sub=dep.sub,
            room="lecture-1",
        )


def test_wrong_room_audience_or_sub_is_refused() -> None:
    dep = Deployment()
    token = mint(dep, jitsi.Signer("HS256", SECRET))
    args = {"key": SECRET, "algorithm": "HS256", "app_id": dep.app_id}
    with pytest.raises(AssertionError):
        verify_like_prosody(token.jwt, audience="jitsi", sub=dep.sub, room="other-room", **args)
    with pytest.raises(jwt.InvalidAudienceError):
        verify_like_prosody(token.jwt, audience="other", sub=dep.sub, room="lecture-1", **args)
    with pytest.raises(AssertionError):
        verify_like_prosody(token.jwt, audience="jitsi", sub="uzh", room="lecture-1", **args)


def test_signer_must_match_deployment_algorithm(rsa_key: rsa.RSAPrivateKey) -> None:
    with pytest.raises(ValueError, match="deployment uses HS256"):
        mint(Deployment(), jitsi.Signer("RS256", rsa_key, kid="k"))
    with pytest.raises(ValueError, match="kid"):
        jitsi.Signer("RS256", rsa_key)
    with pytest.raises(ValueError, match="unsupported"):
        jitsi.Signer("HS512", SECRET)


def test_token_expiry_covers_meeting_end_within_bounds() -> None:
    grace, longest = timedelta(minutes=15), timedelta(hours=4)
    assert jitsi.token_expiry(now=NOW, closes_at=None, grace=grace, longest=longest) == NOW + longest
    closes = NOW + timedelta(minutes=90)
    assert jitsi.token_expiry(now=NOW, closes_at=closes, grace=grace, longest=longest) == closes + grace
    far = NOW + timedelta(hours=10)
    assert jitsi.token_expiry(now=NOW, closes_at=far, grace=grace, longest=longest) == NOW + longest
    past = NOW - timedelta(hours=1)
    assert jitsi.token_expiry(now=NOW, closes_at=past, grace=grace, longest=longest) == NOW + grace


def test_pem_parse_is_what_the_cache_saves(rsa_key: rsa.RSAPrivateKey) -> None:
    pem = rsa_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    parsed = serialization.load_pem_private_key(pem, password=None)
    token = mint(Deployment(algorithm="RS256"), jitsi.Signer("RS256", parsed, kid="k"))
    assert (
        jwt.decode(token.jwt, rsa_key.public_key(), algorithms=["RS256"], audience="jitsi")["room"]
        == "lecture-1"
    )
