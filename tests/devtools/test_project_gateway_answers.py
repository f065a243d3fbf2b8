"""The local gateway answers the project's template as API Gateway would: the authorizer's Deny
is ACCESS_DENIED (401 `unauthorized`, WWW-Authenticate), its raise is a failure of the
authorizer (503 `service_unavailable`, Retry-After), and every other answer of its own is the
template's GatewayResponse (docs/api.md "Errors")."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.aws_resources import LOCAL_PARAMETERS, TEMPLATE
from devtools.local_gateway import load_app
from devtools.local_gateway.authorizers import interpret
from devtools.local_gateway.gateway_responses import (
    INTEGRATION_ERROR,
    INTEGRATION_TIMEOUT,
    MISSING_AUTHENTICATION_TOKEN,
    UNAUTHORIZED,
    GatewayError,
    GatewayResponse,
    gateway_answer,
)
from devtools.local_gateway.workers import Outcome

ARN = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/POST/payments/initiate"
DENY_ALL = "arn:aws:execute-api:us-east-1:123456789012:abcdef1234/dev/*/*"


@pytest.fixture(scope="module")
def responses() -> dict[str, GatewayResponse]:
    (api,) = load_app(TEMPLATE, LOCAL_PARAMETERS).apis.values()
    return api.gateway_responses


def answer(
    responses: dict[str, GatewayResponse], error: GatewayError
) -> tuple[int, dict[str, Any], dict[str, str]]:
    body, status, headers = gateway_answer(responses, error, "request-1")
    return status, json.loads(body), dict(headers)


def refusal(outcome: Outcome) -> GatewayError:
    context, refused, _ = interpret(outcome, ARN)
    assert context is None and refused is not None
    return refused


def test_the_authorizers_deny_is_the_401_of_a_refused_token(
    responses: dict[str, GatewayResponse],
) -> None:
    deny = {
        "principalId": "anonymous",
        "policyDocument": {
            "Version": "2012-10-17",
            "Statement": [
                {"Action": "execute-api:Invoke", "Effect": "Deny", "Resource": [DENY_ALL]}
            ],
        },
    }
    status, body, headers = answer(responses, refusal(Outcome("ok", deny)))
    assert (status, body) == (401, {"error": "Unauthorized", "code": "unauthorized"})
    assert headers["WWW-Authenticate"] == "Bearer"
    # the same answer as a request that never reached it (no Authorization header)
    assert answer(responses, UNAUTHORIZED)[:2] == (status, body)


def test_the_authorizers_raise_is_its_own_failure_a_503_to_retry(
    responses: dict[str, GatewayResponse],
) -> None:
    raised = Outcome("error", error={"errorMessage": "Service temporarily unavailable."})
    status, body, headers = answer(responses, refusal(raised))
    assert (status, body["code"], body["retry_after"]) == (503, "service_unavailable", 1)
    assert headers["Retry-After"] == "1"


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (INTEGRATION_TIMEOUT, 504, "timeout"),
        (INTEGRATION_ERROR, 502, "internal_error"),
        (MISSING_AUTHENTICATION_TOKEN, 404, "not_found"),
    ],
)
def test_the_gateways_other_answers_are_the_templates(
    responses: dict[str, GatewayResponse], error: GatewayError, status: int, code: str
) -> None:
    assert answer(responses, error)[:2][0] == status
    assert answer(responses, error)[1]["code"] == code
