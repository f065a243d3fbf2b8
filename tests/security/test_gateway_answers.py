"""What API Gateway answers itself, before any function runs, as an attacker probing the API
sees it: unknown routes, a missing token and a forged one. Every answer is the API's one
error shape, JSON with `error` and `code`, readable only from the allowed origin, and says
nothing about what exists behind it."""

from __future__ import annotations

import jwt
import pytest

from tests.security.conftest import Target

ORDER = {"amount": "50.00", "currency": "USD", "recipient": "acct-attacker", "description": "x"}
NOT_FOUND = {"error": "No endpoint here: check the method and the path", "code": "not_found"}
UNAUTHORIZED = {"error": "Unauthorized", "code": "unauthorized"}


def allowed_origin(target: Target) -> str:
    """The stack's AllowedOrigin parameter: the one origin its CORS headers may name."""
    assert target.stack.gateway is not None
    origin = target.stack.gateway.app.symbols["AllowedOrigin"]
    assert origin.startswith("http://127.0.0.1:")
    return str(origin)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/admin"),
        ("POST", "/admin/users"),
        ("GET", "/login"),  # a real path with a method it does not have
        ("DELETE", "/payments/initiate"),
        ("POST", "/payments/initiate/../../admin"),
        ("GET", "/.env"),
    ],
)
def test_probing_for_routes_gets_one_json_not_found(target: Target, method: str, path: str) -> None:
    # When an attacker tries paths and methods the API does not have
    response = target.api.request(method, path, json=ORDER if method == "POST" else None)
    # Then the same 404 body for all of them, in the API's error shape
    assert response.status_code == 404, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == NOT_FOUND
    assert response.headers["Access-Control-Allow-Origin"] == allowed_origin(target)


@pytest.mark.parametrize("header", [None, "Bearer", "Basic ZGVtbzpkZW1v"])
def test_a_payment_without_a_token_gets_the_json_401(target: Target, header: str | None) -> None:
    headers = {} if header is None else {"Authorization": header}
    response = target.api.post("/payments/initiate", json=ORDER, headers=headers)
    assert response.status_code == 401
    assert response.json() == UNAUTHORIZED
    assert response.headers["Access-Control-Allow-Origin"] == allowed_origin(target)


def test_a_forged_token_gets_the_same_json_401_as_no_token(target: Target) -> None:
    # Given a token with believable claims, signed with a key the attacker chose
    forged = jwt.encode(
        {"sub": "demo-user", "iss": "phone-verify-dev", "aud": "phone-verify-dev-api"},
        "attacker-chosen-secret-0123456789abcdef",
        algorithm="HS256",
    )
    # When it is used on every route behind the authorizer
    for path in ("/payments/initiate", "/payments/confirm", "/payments/resend"):
        response = target.api.post(path, json=ORDER, headers={"Authorization": f"Bearer {forged}"})
        # Then the authorizer's 401, the same body a missing token gets: nothing to learn
        assert response.status_code == 401, (path, response.text)
        assert response.json() == UNAUTHORIZED
        assert response.headers["Access-Control-Allow-Origin"] == allowed_origin(target)
