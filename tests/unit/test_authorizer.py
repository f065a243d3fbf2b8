"""The payment routes' Lambda authorizer: only a valid access token gets through, and then
only for the method it called, as the token's subject."""

from __future__ import annotations

import base64
import json
from types import ModuleType
from typing import Any

import jwt
import pytest

from phoneverify.config import TokenSettings
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import User
from phoneverify.domain.tokens import AccessTokenIssuer
from phoneverify.runtime import Runtime
from tests.support.fakes import FakeClock, InMemoryTokenRevocations, InMemoryUsers, RecordingEvents
from tests.support.lambda_env import (
    LambdaContext,
    authorizer_event,
    load_function,
    template_environment,
)

SECRET = "authorizer-unit-test-secret-" + "0123456789abcdef" * 3  # long enough for HS512
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/POST/payments/initiate"
DENY_ALL = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/*/*"


class StaticSecrets:
    def __init__(self, values: dict[str, str]) -> None:
        self.values = values

    def get(self, name: str) -> str:
        return self.values[name]


@pytest.fixture
def env() -> dict[str, str]:
    return template_environment("AuthorizerFunction")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def users() -> InMemoryUsers:
    return InMemoryUsers(
        User("u-42", "u42@example.com", "hash"), User("u-7", "u7@example.com", "h")
    )


@pytest.fixture
def revocations(users: InMemoryUsers, clock: FakeClock) -> InMemoryTokenRevocations:
    return InMemoryTokenRevocations(users, clock)


@pytest.fixture
def events() -> RecordingEvents:
    return RecordingEvents()


@pytest.fixture
def authorizer(
    monkeypatch: pytest.MonkeyPatch,
    env: dict[str, str],
    clock: FakeClock,
    revocations: InMemoryTokenRevocations,
    events: RecordingEvents,
) -> ModuleType:
    module = load_function("authorizer", monkeypatch, env)
    settings = TokenSettings.from_env(env)
    runtime = Runtime(
        settings, clock=clock, secrets=StaticSecrets({env["JWT_SIGNING_SECRET_PARAM"]: SECRET})
    )
    runtime.revocations = revocations  # type: ignore[assignment]
    runtime.events = events
    monkeypatch.setattr(module, "runtime", runtime)
    return module


@pytest.fixture
def issuer(env: dict[str, str], clock: FakeClock) -> AccessTokenIssuer:
    return AccessTokenIssuer(
        lambda: SECRET,
        issuer=env["JWT_ISSUER"],
        audience=env["JWT_AUDIENCE"],
        ttl_seconds=3600,
        clock=clock,
    )


def authorize(module: ModuleType, authorization: str | None) -> dict[str, Any]:
    result: dict[str, Any] = module.lambda_handler(
        authorizer_event(authorization, METHOD_ARN),
        LambdaContext(function_name="AuthorizerFunction"),
    )
    return result


def assert_denied(result: dict[str, Any]) -> None:
    """A refusal: an explicit Deny of every route (API Gateway's ACCESS_DENIED, the template's
    401 `unauthorized`), returned, not raised: no function error, and no one named."""
    assert result["principalId"] == "anonymous"
    assert "context" not in result
    assert result["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [DENY_ALL]}
    ]


def claims(env: dict[str, str], clock: FakeClock, **overrides: object) -> dict[str, object]:
    now = int(clock.now())
    values: dict[str, object] = {
        "sub": "u-42",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": env["JWT_ISSUER"],
        "aud": env["JWT_AUDIENCE"],
        "jti": "j-1",
        "gen": 0,
    }
    values.update(overrides)
    return values


def test_a_valid_token_allows_exactly_the_called_method_as_its_subject(
    authorizer: ModuleType, issuer: AccessTokenIssuer
) -> None:
    # Given
    token = issuer.issue_access_token("u-42", 0).token
    # When
    result = authorize(authorizer, f"Bearer {token}")
    # Then (its jti: the session a reauth token is bound to, docs/sessions.md)
    assert result["principalId"] == "u-42"
    assert result["context"] == {"user_id": "u-42", "jti": issuer.verify(token).jti}
    assert result["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [METHOD_ARN]}
    ]


def test_a_method_no_policy_can_name_is_denied_even_with_a_valid_token(
    authorizer: ModuleType, issuer: AccessTokenIssuer
) -> None:
    # Given: a TRACE on a payment route (every other method reaches its function: a 405)
    token = issuer.issue_access_token("u-42", 0).token
    event = authorizer_event(f"Bearer {token}", METHOD_ARN.replace("/POST/", "/TRACE/"))
    # Then: denied, never a failure of the authorizer (API Gateway's 503)
    assert_denied(
        authorizer.lambda_handler(event, LambdaContext(function_name="AuthorizerFunction"))
    )


def test_the_scheme_is_case_insensitive(authorizer: ModuleType, issuer: AccessTokenIssuer) -> None:
    token = issuer.issue_access_token("u-42", 0).token
    assert authorize(authorizer, f"bearer {token}")["principalId"] == "u-42"


def _unsigned(payload: dict[str, object]) -> str:
    def part(value: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


@pytest.mark.parametrize(
    "forge",
    [
        pytest.param(lambda c: _unsigned(c), id="alg-none"),
        pytest.param(
            lambda c: jwt.encode(c, "another-secret-" + "x" * 32, "HS256"), id="wrong-key"
        ),
        pytest.param(lambda c: jwt.encode(c, SECRET, "HS512"), id="other-algorithm"),
        pytest.param(lambda c: jwt.encode({**c, "exp": c["iat"]}, SECRET, "HS256"), id="expired"),
        pytest.param(
            lambda c: jwt.encode({**c, "aud": "someone-else"}, SECRET, "HS256"), id="wrong-aud"
        ),
        pytest.param(
            lambda c: jwt.encode({**c, "iss": "someone-else"}, SECRET, "HS256"), id="wrong-iss"
        ),
        pytest.param(
            lambda c: jwt.encode({k: v for k, v in c.items() if k != "jti"}, SECRET, "HS256"),
            id="no-jti",
        ),
        pytest.param(lambda c: jwt.encode({**c, "sub": ""}, SECRET, "HS256"), id="empty-sub"),
    ],
)
def test_forged_or_stale_tokens_are_unauthorized(
    authorizer: ModuleType, env: dict[str, str], clock: FakeClock, forge: Any
) -> None:
    token = forge(claims(env, clock))
    assert_denied(authorize(authorizer, f"Bearer {token}"))


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc.def.ghi", "Bearer a.b.c d"],
)
def test_a_missing_or_non_bearer_header_is_unauthorized(
    authorizer: ModuleType, authorization: str | None
) -> None:
    assert_denied(authorize(authorizer, authorization))


def test_a_token_expires_with_time(
    authorizer: ModuleType, issuer: AccessTokenIssuer, clock: FakeClock
) -> None:
    token = issuer.issue_access_token("u-42", 0).token
    clock.advance(3600)
    assert_denied(authorize(authorizer, f"Bearer {token}"))


def test_one_ended_token_is_unauthorized_and_the_refusal_is_audited(
    authorizer: ModuleType,
    issuer: AccessTokenIssuer,
    revocations: InMemoryTokenRevocations,
    events: RecordingEvents,
) -> None:
    # Given two tokens of one account, the first logged out
    ended = issuer.issue_access_token("u-42", 0).token
    other = issuer.issue_access_token("u-42", 0).token
    revocations.end_token(issuer.verify(ended).jti, issuer.verify(ended).expires_at)
    # When / Then the ended one is refused, the other still works
    assert_denied(authorize(authorizer, f"Bearer {ended}"))
    assert authorize(authorizer, f"Bearer {other}")["principalId"] == "u-42"
    refused = events.events[0]
    assert (refused.type.value, refused.subject) == ("token_refused", "u-42")
    assert refused.detail == {"reason": "token_ended"}
    assert refused.origin.source_ip == "198.51.100.7"  # from the sample event


def test_every_token_of_an_account_ends_at_once_and_only_that_accounts(
    authorizer: ModuleType, issuer: AccessTokenIssuer, revocations: InMemoryTokenRevocations
) -> None:
    # Given tokens of two accounts
    mine = issuer.issue_access_token("u-42", 0).token
    theirs = issuer.issue_access_token("u-7", 0).token
    # When every token of u-42 is ended
    revocations.end_all_tokens("u-42")
    # Then
    assert_denied(authorize(authorizer, f"Bearer {mine}"))
    assert authorize(authorizer, f"Bearer {theirs}")["principalId"] == "u-7"
    # and a token issued afterwards, under the new generation, works
    fresh = issuer.issue_access_token("u-42", 1).token
    assert authorize(authorizer, f"Bearer {fresh}")["principalId"] == "u-42"


def test_a_token_of_an_account_that_no_longer_exists_is_unauthorized(
    authorizer: ModuleType, issuer: AccessTokenIssuer
) -> None:
    token = issuer.issue_access_token("u-deleted", 0).token
    assert_denied(authorize(authorizer, f"Bearer {token}"))


def test_when_the_check_cannot_be_made_the_authorizer_fails_never_allows(
    authorizer: ModuleType, issuer: AccessTokenIssuer, revocations: InMemoryTokenRevocations
) -> None:
    # Given DynamoDB throttling the revocation check
    token = issuer.issue_access_token("u-42", 0).token
    revocations.unavailable = 1
    # When / Then its own fault raises (API Gateway's AUTHORIZER_FAILURE: 503, retry), no
    # policy at all: neither an Allow nor a Deny that would tell the caller the token is bad
    with pytest.raises(StorageUnavailable):
        authorize(authorizer, f"Bearer {token}")


@pytest.mark.parametrize(
    ("claim", "value"),
    [("nbf", 1_800_000_000.5), ("iat", "1800000000"), ("exp", True), ("gen", None)],
    ids=["float-nbf", "string-iat", "bool-exp", "no-gen"],
)
def test_tokens_with_loose_claims_are_unauthorized_even_when_signed_right(
    authorizer: ModuleType,
    env: dict[str, str],
    clock: FakeClock,
    revocations: InMemoryTokenRevocations,
    claim: str,
    value: object,
) -> None:
    values = {k: v for k, v in claims(env, clock, **{claim: value}).items() if v is not None}
    token = jwt.encode(values, SECRET, "HS256")
    assert_denied(authorize(authorizer, f"Bearer {token}"))
    assert revocations.checks == 0  # refused before any DynamoDB read


def test_refusals_are_logged_with_reason_origin_and_subject_but_never_the_token(
    authorizer: ModuleType,
    issuer: AccessTokenIssuer,
    revocations: InMemoryTokenRevocations,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given an ended token
    token = issuer.issue_access_token("u-42", 0).token
    revocations.end_all_tokens("u-42")
    # When it is presented
    assert_denied(authorize(authorizer, f"Bearer {token}"))
    # Then the log line says why, from where and for whom, without the token
    refusal = next(r for r in caplog.records if r.getMessage() == "request refused")
    assert refusal.reason == "all_tokens_ended"  # type: ignore[attr-defined]
    assert refusal.subject == "u-42"  # type: ignore[attr-defined]
    assert refusal.source_ip == "198.51.100.7"  # type: ignore[attr-defined]
    assert refusal.user_agent == "Mozilla/5.0 (sample event)"  # type: ignore[attr-defined]
    logged = " ".join(str(vars(record)) for record in caplog.records)
    assert token.split(".")[2] not in logged  # not even the signature
