"""Lambda authorizers (TOKEN and REQUEST) of REST APIs, without caching."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .events import HttpRequest, HttpResponse, build_rest_event, json_response, rest_query
from .model import ApiConfig, AuthorizerConfig
from .workers import Outcome

UNAUTHORIZED = {"message": "Unauthorized"}
EXPLICIT_DENY = {"Message": "User is not authorized to access this resource with an explicit deny"}
NOT_AUTHORIZED = {"Message": "User is not authorized to access this resource"}


@dataclass(frozen=True)
class AuthorizerCall:
    """What to send to the authorizer function, or the response when it must not be called."""

    event: dict[str, Any] | None
    response: HttpResponse | None = None


def unauthorized() -> HttpResponse:
    return json_response(401, UNAUTHORIZED, "UnauthorizedException")


def configuration_error() -> HttpResponse:
    return json_response(500, {"message": None}, "AuthorizerConfigurationException")


def prepare(
    authorizer: AuthorizerConfig,
    request: HttpRequest,
    api: ApiConfig,
    resource_path: str,
    path_parameters: Mapping[str, str],
    request_id: str,
    method_arn: str,
) -> AuthorizerCall:
    """Check identity sources and build the authorizer event (401 without a call if missing)."""
    if authorizer.payload_type == "TOKEN":
        token = request.header(authorizer.token_header)
        if not token:
            return AuthorizerCall(None, unauthorized())
        expression = authorizer.validation_expression
        if expression and re.fullmatch(expression, token) is None:
            return AuthorizerCall(None, unauthorized())
        return AuthorizerCall(
            {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
        )
    if any(request.header(name) is None for name in authorizer.identity_headers):
        return AuthorizerCall(None, unauthorized())
    query, _ = rest_query(request)
    if any(name not in (query or {}) for name in authorizer.identity_query_strings):
        return AuthorizerCall(None, unauthorized())
    proxy_event = build_rest_event(request, api, resource_path, path_parameters, request_id)
    event: dict[str, Any] = {"type": "REQUEST", "methodArn": method_arn}
    for key in (
        "resource",
        "path",
        "httpMethod",
        "headers",
        "multiValueHeaders",
        "queryStringParameters",
        "multiValueQueryStringParameters",
        "pathParameters",
        "stageVariables",
        "requestContext",
    ):
        event[key] = proxy_event[key]
    return AuthorizerCall(event)


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join(
        ".*" if char == "*" else "." if char == "?" else re.escape(char) for char in pattern
    )
    flags = re.IGNORECASE if ignore_case else 0
    return re.fullmatch(regex, value, flags) is not None


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def evaluate_policy(document: Any, method_arn: str) -> str | None:
    """Return "Deny" if a matching statement denies, "Allow" if one allows, else None."""
    if not isinstance(document, dict):
        raise ValueError("policyDocument is not an object")
    allowed = False
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict):
            raise ValueError("policy statement is not an object")
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        if not any(_wildcard(a, "execute-api:Invoke", ignore_case=True) for a in actions):
            continue
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if not any(_wildcard(r, method_arn) for r in resources):
            continue
        effect = str(statement.get("Effect", ""))
        if effect == "Deny":
            return "Deny"
        if effect == "Allow":
            allowed = True
    return "Allow" if allowed else None


def _context_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise ValueError(f"context values must be strings, numbers or booleans, got {value!r}")


def interpret(
    outcome: Outcome, method_arn: str
) -> tuple[dict[str, Any] | None, HttpResponse | None, str]:
    """(requestContext.authorizer, None, note) when allowed, else (None, response, reason)."""
    if outcome.kind == "error":
        message = (outcome.error or {}).get("errorMessage")
        if message == "Unauthorized":
            return None, unauthorized(), "authorizer raised Unauthorized"
        return None, configuration_error(), f"authorizer failed: {message}"
    if outcome.kind != "ok":
        return None, configuration_error(), f"authorizer {outcome.kind}"
    result = outcome.payload
    if not isinstance(result, dict) or "principalId" not in result:
        return None, configuration_error(), "authorizer result has no principalId"
    try:
        effect = evaluate_policy(result.get("policyDocument"), method_arn)
        raw_context = result.get("context") or {}
        if not isinstance(raw_context, dict):
            raise ValueError("context is not an object")
        context: dict[str, Any] = {str(k): _context_value(v) for k, v in raw_context.items()}
    except ValueError as exc:
        return None, configuration_error(), f"malformed authorizer result: {exc}"
    if effect == "Deny":
        return None, json_response(403, EXPLICIT_DENY, "AccessDeniedException"), "explicit deny"
    if effect is None:
        return None, json_response(403, NOT_AUTHORIZED, "AccessDeniedException"), "not allowed"
    context["principalId"] = str(result["principalId"])
    context["integrationLatency"] = int(outcome.duration_ms)
    if result.get("usageIdentifierKey") is not None:
        context["usageIdentifierKey"] = str(result["usageIdentifierKey"])
    return context, None, "allowed"
