"""The payment routes' Lambda authorizer: only a valid access token gets through, and then
only for the method it called, as the token's subject."""

from __future__ import annotations

import base64
import json
from types import ModuleType
from typing import Any

import jwt
import pytest

from phoneverify.config import Settings
from phoneverify.runtime import Runtime
from phoneverify.tokens import AccessTokenIssuer
from tests.support.fakes import FakeClock
from tests.support.lambda_env import ROOT, LambdaContext, load_function, template_environment

SECRET = "authorizer-unit-test-secret-" + "0123456789abcdef" * 3  # long enough for HS512
METHOD_ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/POST/payments/initiate"


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
def authorizer(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], clock: FakeClock
) -> ModuleType:
    module = load_function("authorizer", monkeypatch, env)
    settings = Settings.from_env(env)
    runtime = Runtime(
        settings, clock=clock, secrets=StaticSecrets({env["JWT_SIGNING_SECRET_PARAM"]: SECRET})
    )
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


def event(authorization: str | None) -> dict[str, Any]:
    sample: dict[str, Any] = json.loads((ROOT / "events" / "authorizer.json").read_text())
    headers = {k: v for k, v in sample["headers"].items() if k != "Authorization"}
    if authorization is not None:
        headers["Authorization"] = authorization
    sample["headers"] = headers
    sample["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    sample["methodArn"] = METHOD_ARN
    return sample


def authorize(module: ModuleType, authorization: str | None) -> dict[str, Any]:
    result: dict[str, Any] = module.lambda_handler(
        event(authorization), LambdaContext(function_name="AuthorizerFunction")
    )
    return result


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
    }
    values.update(overrides)
    return values


def test_a_valid_token_allows_exactly_the_called_method_as_its_subject(
    authorizer: ModuleType, issuer: AccessTokenIssuer
) -> None:
    # Given
    token = issuer.issue_access_token("u-42").token
    # When
    result = authorize(authorizer, f"Bearer {token}")
    # Then
    assert result["principalId"] == "u-42"
    assert result["context"] == {"user_id": "u-42"}
    assert result["policyDocument"]["Statement"] == [
        {"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": [METHOD_ARN]}
    ]


def test_the_scheme_is_case_insensitive(authorizer: ModuleType, issuer: AccessTokenIssuer) -> None:
    token = issuer.issue_access_token("u-42").token
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
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(authorizer, f"Bearer {token}")


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Token abc.def.ghi", "Bearer a.b.c d"],
)
def test_a_missing_or_non_bearer_header_is_unauthorized(
    authorizer: ModuleType, authorization: str | None
) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(authorizer, authorization)


def test_a_token_expires_with_time(
    authorizer: ModuleType, issuer: AccessTokenIssuer, clock: FakeClock
) -> None:
    token = issuer.issue_access_token("u-42").token
    clock.advance(3600)
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(authorizer, f"Bearer {token}")
