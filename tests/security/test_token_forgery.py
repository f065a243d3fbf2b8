"""Attacks on the access token in front of the payment endpoints: every forged, foreign or
stale token is stopped by the authorizer before any payment logic runs."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import boto3
import jwt
import pytest

from tests.security.conftest import Target

ISSUER, AUDIENCE = "phone-verify-dev", "phone-verify-dev-api"
ORDER = {"amount": "50.00", "currency": "USD", "recipient": "acct-attacker", "description": "x"}


def ssm_value(target: Target, name: str) -> str:
    ssm = boto3.client("ssm", endpoint_url=target.stack.aws_env["AWS_ENDPOINT_URL"])
    value: str = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    return value


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": "demo-no-phone",
        "iat": now,
        "exp": now + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def unsigned(payload: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def forged_tokens(target: Target) -> dict[str, str]:
    secret = ssm_value(target, "/phone-verify/dev/jwt-signing-secret")
    webhook_key = ssm_value(target, "/phone-verify/dev/telnyx-webhook-public-key")
    now = int(time.time())
    return {
        "alg-none": unsigned(claims()),
        "wrong-key": jwt.encode(claims(), "a-different-secret-of-enough-length-123456", "HS256"),
        "expired": jwt.encode(claims(iat=now - 7200, exp=now - 3600), secret, "HS256"),
        "wrong-audience": jwt.encode(claims(aud="another-api"), secret, "HS256"),
        "wrong-issuer": jwt.encode(claims(iss="someone-else"), secret, "HS256"),
        "no-jti": jwt.encode(claims(jti=None), secret, "HS256"),
        "signed-with-webhook-key": jwt.encode(claims(), webhook_key, "HS256"),
        "hs512": jwt.encode(claims(), secret, "HS512"),
        "garbage": "not.a.token",
    }


@pytest.mark.parametrize(
    "kind",
    [
        "alg-none",
        "wrong-key",
        "expired",
        "wrong-audience",
        "wrong-issuer",
        "no-jti",
        "signed-with-webhook-key",
        "hs512",
        "garbage",
    ],
)
def test_forged_and_foreign_tokens_never_reach_payment_logic(target: Target, kind: str) -> None:
    # Given
    token = forged_tokens(target)[kind]
    # When
    response = target.api.post(
        "/payments/initiate", json=ORDER, headers={"Authorization": f"Bearer {token}"}
    )
    # Then API Gateway's authorizer answer, and no payment was made
    assert response.status_code in (401, 403), response.text
    assert "payment_id" not in response.text


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic ZGVtbzpkZW1v", "bearer  x.y.z"])
def test_missing_or_malformed_authorization_is_401(target: Target, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = target.api.post("/payments/initiate", json=ORDER, headers=headers)
    assert response.status_code == 401


def test_a_valid_token_does_work_so_the_refusals_above_mean_something(target: Target) -> None:
    # Given a token made exactly like the forged ones, but right
    secret = ssm_value(target, "/phone-verify/dev/jwt-signing-secret")
    token = jwt.encode(claims(), secret, "HS256")
    # When
    response = target.api.post(
        "/payments/initiate", json=ORDER, headers={"Authorization": f"Bearer {token}"}
    )
    # Then
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "completed"


def test_the_user_comes_from_the_token_never_from_the_body(target: Target) -> None:
    secret = ssm_value(target, "/phone-verify/dev/jwt-signing-secret")
    token = jwt.encode(claims(), secret, "HS256")
    response = target.api.post(
        "/payments/initiate",
        json={**ORDER, "user_id": "demo-user"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["field"] == "user_id"
