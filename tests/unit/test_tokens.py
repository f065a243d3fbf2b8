"""Access tokens: what a forger, a replayer or a confused client would notice."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from phoneverify.tokens import AccessTokenIssuer, InvalidToken
from tests.support.builders import AUDIENCE, ISSUER, SIGNING_SECRET
from tests.support.fakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def issuer(clock: FakeClock) -> AccessTokenIssuer:
    return AccessTokenIssuer(
        lambda: SIGNING_SECRET, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=900, clock=clock
    )


def claims_for(clock: FakeClock, **overrides: object) -> dict[str, object]:
    now = int(clock.now())
    claims: dict[str, object] = {
        "sub": "u-1",
        "iat": now,
        "exp": now + 60,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": "j",
    }
    claims.update(overrides)
    return claims


def test_issued_token_carries_the_standard_claims(issuer: AccessTokenIssuer, clock: FakeClock):
    # When
    token = issuer.issue_access_token("u-42")
    # Then
    claims = issuer.decode_access_token(token.token)
    assert claims["sub"] == "u-42"
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 900 == token.expires_in
    assert jwt.get_unverified_header(token.token)["alg"] == "HS256"
    assert token.body()["token_type"] == "Bearer"
    assert issuer.issue_access_token("u-42").token != token.token  # unique jti


def test_token_expires(issuer: AccessTokenIssuer, clock: FakeClock) -> None:
    token = issuer.issue_access_token("u-1").token
    clock.advance(900)
    with pytest.raises(InvalidToken):
        issuer.decode_access_token(token)


def test_alg_none_is_refused(issuer: AccessTokenIssuer, clock: FakeClock) -> None:
    def b64(data: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    forged = f"{b64({'alg': 'none', 'typ': 'JWT'})}.{b64(claims_for(clock))}."
    with pytest.raises(InvalidToken):
        issuer.decode_access_token(forged)


@pytest.mark.parametrize(
    ("key", "overrides"),
    [
        ("another-secret-of-sufficient-length-0123456789", {}),
        (SIGNING_SECRET, {"aud": "someone-else"}),
        (SIGNING_SECRET, {"iss": "someone-else"}),
        (SIGNING_SECRET, {"jti": None}),
    ],
    ids=["wrong-key", "wrong-aud", "wrong-iss", "missing-jti"],
)
def test_forged_or_foreign_tokens_are_refused(
    issuer: AccessTokenIssuer, clock: FakeClock, key: str, overrides: dict[str, object]
) -> None:
    claims = {k: v for k, v in claims_for(clock, **overrides).items() if v is not None}
    token = jwt.encode(claims, key, algorithm="HS256")
    with pytest.raises(InvalidToken):
        issuer.decode_access_token(token)


def test_short_signing_secret_is_refused(clock: FakeClock) -> None:
    weak = AccessTokenIssuer(
        lambda: "short", issuer=ISSUER, audience=AUDIENCE, ttl_seconds=60, clock=clock
    )
    with pytest.raises(RuntimeError, match="at least 32 bytes"):
        weak.issue_access_token("u-1")
