"""What API Gateway answers itself, before any function runs, as an attacker probing the API
sees it: unknown routes, a missing token and a forged one. Every answer is the API's one
error shape, JSON with `error` and `code`, readable only from the allowed origin, and says
nothing about what exists behind it."""

from __future__ import annotations

import json
import threading
from typing import Any

import jwt
import pytest

from devtools.local_gateway.workers import Outcome
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
        assert response.headers["WWW-Authenticate"] == "Bearer"


AUTHORIZER = "AuthorizerFunction"
HANG_GUARD_SECS = 120.0  # only against a hang: the lines are waited for, not timed


def test_a_forged_token_is_a_deny_not_a_failure_of_the_authorizer(
    target: Target, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the gateway's record of each authorizer invocation and of its log lines
    gateway = target.stack.gateway
    assert gateway is not None
    invocations: list[tuple[str, Outcome]] = []
    lines: list[str] = []
    reported = threading.Condition()
    invoke, function_line = gateway._invoke, gateway.sink.function_line

    def recording_invoke(function_id: str, event: Any, request_id: str, timeout: Any) -> Outcome:
        outcome = invoke(function_id, event, request_id, timeout)
        if function_id == AUTHORIZER:
            invocations.append((request_id, outcome))
        return outcome

    def recording_line(function_id: str, line: str) -> None:
        function_line(function_id, line)
        if function_id == AUTHORIZER:
            with reported:
                lines.append(line.rstrip())
                reported.notify_all()

    monkeypatch.setattr(gateway, "_invoke", recording_invoke)
    monkeypatch.setattr(gateway.sink, "function_line", recording_line)
    forged = jwt.encode(
        {"sub": "demo-user", "iss": "phone-verify-dev", "aud": "phone-verify-dev-api"},
        "attacker-chosen-secret-0123456789abcdef",
        algorithm="HS256",
    )
    # When it is sent to a payment route
    response = target.api.post(
        "/payments/initiate", json=ORDER, headers={"Authorization": f"Bearer {forged}"}
    )
    # Then API Gateway's 401 for a refused token (ACCESS_DENIED), with its challenge
    assert response.status_code == 401, response.text
    assert response.json() == UNAUTHORIZED
    assert response.headers["WWW-Authenticate"] == "Bearer"
    # and the authorizer answered (its Deny), it did not fail: no function error
    ((request_id, outcome),) = invocations
    assert outcome.kind == "ok", outcome.error
    assert outcome.payload["policyDocument"]["Statement"][0]["Effect"] == "Deny"
    # and between its START and END: one line for the refusal, beside the audit record and
    # the metric it always wrote, every line structured (no traceback), none an error
    with reported:
        done = reported.wait_for(
            lambda: any(line.startswith(f"END RequestId: {request_id}") for line in lines),
            timeout=HANG_GUARD_SECS,
        )
    assert done, lines
    start = lines.index(f"START RequestId: {request_id} Version: $LATEST")
    records = [
        json.loads(line) for line in lines[start + 1 : lines.index(f"END RequestId: {request_id}")]
    ]
    (refusal,) = [r for r in records if r.get("message") == "request refused"]
    assert refusal["reason"] and refusal["source_ip"], refusal
    assert [r["event_type"] for r in records if r.get("message") == "verification event"] == [
        "token_refused"
    ]
    assert not [r for r in records if r.get("level") in ("ERROR", "CRITICAL")], records
    assert forged.split(".")[2] not in " ".join(lines)
