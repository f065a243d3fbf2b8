"""Access tokens: what a forger, a replayer or a confused client would notice."""

from __future__ import annotations

import base64
import json

import jwt
import pytest

from phoneverify.domain.tokens import CLOCK_SKEW_SECS, AccessTokenIssuer, InvalidToken
from tests.support.answers import answer
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
        "nbf": now,
        "exp": now + 60,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": "j",
        "gen": 0,
    }
    claims.update(overrides)
    return claims


def test_issued_token_carries_the_standard_claims(issuer: AccessTokenIssuer, clock: FakeClock):
    # When
    token = issuer.issue_access_token("u-42", 0)
    # Then
    claims = issuer.decode_access_token(token.token)
    assert claims["sub"] == "u-42"
    assert claims["iss"] == ISSUER and claims["aud"] == AUDIENCE
    assert claims["exp"] - claims["iat"] == 900 == token.expires_in
    assert jwt.get_unverified_header(token.token)["alg"] == "HS256"
    assert answer(token)["token_type"] == "Bearer"
    assert issuer.issue_access_token("u-42", 0).token != token.token  # unique jti
    assert claims["nbf"] == claims["iat"] and claims["gen"] == 0


def test_the_token_carries_the_accounts_token_generation(issuer: AccessTokenIssuer) -> None:
    # When
    token = issuer.issue_access_token("u-42", 7)
    # Then
    assert issuer.verify(token.token).generation == 7


def test_token_expires(issuer: AccessTokenIssuer, clock: FakeClock) -> None:
    token = issuer.issue_access_token("u-1", 0).token
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
        weak.issue_access_token("u-1", 0)


def signed(clock: FakeClock, **overrides: object) -> str:
    """A token signed with the real key; an override of None leaves that claim out."""
    claims = {k: v for k, v in claims_for(clock, **overrides).items() if v is not None}
    return jwt.encode(claims, SIGNING_SECRET, algorithm="HS256")


@pytest.mark.parametrize("claim", ["exp", "iat", "nbf", "gen"])
@pytest.mark.parametrize(
    "value",
    [None, True, False, 1_800_000_060.0, 1.5, "1800000060", [1], {"n": 1}],
    ids=["missing", "true", "false", "float-integral", "float", "string", "list", "object"],
)
def test_time_and_generation_claims_must_be_integers(
    issuer: AccessTokenIssuer, clock: FakeClock, claim: str, value: object
) -> None:
    # Given a token signed with the right key whose claim is missing or not an integer
    token = signed(clock, **{claim: value})
    # When / Then it is refused, naming the account it claims to be
    with pytest.raises(InvalidToken) as refused:
        issuer.decode_access_token(token)
    assert refused.value.reason == "invalid_claims"
    assert refused.value.subject == "u-1"


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_a_token_issued_in_the_future_is_refused(
    issuer: AccessTokenIssuer, clock: FakeClock, claim: str
) -> None:
    # Given a token issued (or valid from) beyond the allowed clock skew
    token = signed(clock, **{claim: int(clock.now()) + CLOCK_SKEW_SECS + 1})
    # When / Then
    with pytest.raises(InvalidToken) as refused:
        issuer.decode_access_token(token)
    assert refused.value.reason == "not_yet_valid"


@pytest.mark.parametrize("claim", ["iat", "nbf"])
def test_a_clock_a_little_behind_the_issuers_is_tolerated(
    issuer: AccessTokenIssuer, clock: FakeClock, claim: str
) -> None:
    token = signed(clock, **{claim: int(clock.now()) + CLOCK_SKEW_SECS})
    assert issuer.verify(token).subject == "u-1"


@pytest.mark.parametrize(
    ("claim", "value"),
    [("sub", ""), ("sub", 42), ("jti", ""), ("jti", 7), ("jti", "j" * 129), ("gen", -1)],
)
def test_empty_or_odd_identifiers_are_refused(
    issuer: AccessTokenIssuer, clock: FakeClock, claim: str, value: object
) -> None:
    with pytest.raises(InvalidToken):
        issuer.decode_access_token(signed(clock, **{claim: value}))


def test_a_forged_token_names_nobody(issuer: AccessTokenIssuer, clock: FakeClock) -> None:
    # Given a token signed with another key, claiming the account u-1
    token = jwt.encode(claims_for(clock), "another-secret-of-sufficient-length-0123456789")
    # When / Then its subject is not believed
    with pytest.raises(InvalidToken) as refused:
        issuer.decode_access_token(token)
    assert (refused.value.reason, refused.value.subject) == ("malformed", None)
