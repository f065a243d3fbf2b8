"""Attacks on the access token in front of the payment endpoints and /logout: every forged,
foreign, stale or loosely typed token is stopped (by the authorizer, or by /logout's own
check) before any logic runs. Tokens "signed right" use the stack's real secret, as one
stolen from SSM would."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
import pytest

from tests.security.conftest import Target

ISSUER, AUDIENCE = "phone-verify-dev", "phone-verify-dev-api"
ORDER = {"amount": "50.00", "currency": "USD", "recipient": "acct-attacker", "description": "x"}
# A request the authorizer lets through to a 404 that changes nothing: the control below.
NO_SUCH_PAYMENT = {"payment_id": "pay_" + "0" * 32}


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    values: dict[str, Any] = {
        "sub": "demo-no-phone",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
        "gen": 0,
    }
    values.update(overrides)
    return {k: v for k, v in values.items() if v is not None}


def unsigned(payload: dict[str, Any]) -> str:
    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def forged_tokens(target: Target) -> dict[str, str]:
    secret = target.signing_secret()
    webhook_key = target.ssm_value("/phone-verify/dev/telnyx-webhook-public-key")
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
        # Signed with the real secret, but with claims of the wrong type or time
        "float-nbf": jwt.encode(claims(nbf=now + 0.5), secret, "HS256"),
        "string-iat": jwt.encode(claims(iat=str(now)), secret, "HS256"),
        "bool-exp": jwt.encode(claims(exp=True), secret, "HS256"),
        "float-exp": jwt.encode(claims(exp=now + 600.0), secret, "HS256"),
        "no-nbf": jwt.encode(claims(nbf=None), secret, "HS256"),
        "no-iat": jwt.encode(claims(iat=None), secret, "HS256"),
        "no-gen": jwt.encode(claims(gen=None), secret, "HS256"),
        "string-gen": jwt.encode(claims(gen="0"), secret, "HS256"),
        "future-iat": jwt.encode(claims(iat=now + 3600), secret, "HS256"),
        "future-nbf": jwt.encode(claims(nbf=now + 3600), secret, "HS256"),
        "older-generation": jwt.encode(claims(gen=-1), secret, "HS256"),
    }


LOOSE = [
    "float-nbf",
    "string-iat",
    "bool-exp",
    "float-exp",
    "no-nbf",
    "no-iat",
    "no-gen",
    "string-gen",
    "future-iat",
    "future-nbf",
    "older-generation",
]


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
        *LOOSE,
    ],
)
def test_forged_and_foreign_tokens_never_reach_payment_logic(target: Target, kind: str) -> None:
    # Given
    token = forged_tokens(target)[kind]
    # When
    response = target.api.post(
        "/payments/initiate", json=ORDER, headers={"Authorization": f"Bearer {token}"}
    )
    # Then API Gateway's authorizer answer, in the API's error shape, and no payment was made
    assert response.status_code in (401, 403), response.text
    assert {"error", "code"} <= set(response.json()), response.text
    assert "payment_id" not in response.text


@pytest.mark.parametrize("header", [None, "", "Bearer", "Basic ZGVtbzpkZW1v", "bearer  x.y.z"])
def test_missing_or_malformed_authorization_is_401(target: Target, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = target.api.post("/payments/initiate", json=ORDER, headers=headers)
    assert response.status_code == 401


def test_a_valid_token_does_work_so_the_refusals_above_mean_something(target: Target) -> None:
    # Given a token made exactly like the forged ones, but right
    token = jwt.encode(claims(), target.signing_secret(), "HS256")
    # When
    response = target.api.post(
        "/payments/initiate", json=ORDER, headers={"Authorization": f"Bearer {token}"}
    )
    # Then
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "completed"


def test_the_user_comes_from_the_token_never_from_the_body(target: Target) -> None:
    token = jwt.encode(claims(), target.signing_secret(), "HS256")
    response = target.api.post(
        "/payments/initiate",
        json={**ORDER, "user_id": "demo-user"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 400
    assert response.json()["field"] == "user_id"


@pytest.mark.parametrize("kind", ["alg-none", "wrong-key", "expired", "no-jti", *LOOSE])
def test_forged_and_loosely_typed_tokens_cannot_log_anyone_out(target: Target, kind: str) -> None:
    # Given a token of the kinds above, claiming the account nophone@example.com
    token = forged_tokens(target)[kind]
    # When it is used to end every session of that account
    response = target.api.post(
        "/logout", json={"all": True}, headers={"Authorization": f"Bearer {token}"}
    )
    # Then the contract's 401, and nothing was ended: a real token of the account still passes
    assert response.status_code == 401, response.text
    assert response.json() == {"error": "Unauthorized", "code": "unauthorized"}
    real = jwt.encode(claims(), target.signing_secret(), "HS256")
    still = target.api.post(
        "/payments/resend", json=NO_SUCH_PAYMENT, headers={"Authorization": f"Bearer {real}"}
    )
    assert still.status_code == 404, still.text  # past the authorizer
