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


def test_a_real_path_with_a_method_it_does_not_have_says_which_it_has(target: Target) -> None:
    # When an attacker tries another method on a real, open path
    response = target.api.get("/login")
    # Then a 405 in the API's error shape that names the method it takes, nothing else
    assert response.status_code == 405, response.text
    assert response.json()["code"] == "method_not_allowed"
    assert response.headers["Allow"] == "POST"


def test_another_method_on_a_path_behind_the_authorizer_needs_a_token_first(
    target: Target,
) -> None:
    # When an attacker without a token tries another method on a payment path
    response = target.api.delete("/payments/initiate")
    # Then the authorizer refuses it before anything says which methods the path has
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED
    assert "Allow" not in response.headers


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
