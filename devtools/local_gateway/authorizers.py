"""Lambda authorizers (TOKEN and REQUEST) of REST APIs, without caching."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request

from .events import build_rest_event, rest_query, scalar_text
from .gateway_responses import (
    AUTHORIZER_CONFIGURATION_ERROR,
    EXPLICIT_DENY,
    NOT_AUTHORIZED,
    UNAUTHORIZED,
    GatewayError,
)
from .template import ApiConfig, AuthorizerConfig
from .workers import Outcome


def authorizer_event(
    authorizer: AuthorizerConfig,
    request: Request,
    api: ApiConfig,
    resource_path: str,
    path_parameters: Mapping[str, str],
    request_id: str,
    method_arn: str,
) -> dict[str, Any] | None:
    """The authorizer's event, or None when an identity source is missing (a 401, no call)."""
    if authorizer.payload_type == "TOKEN":
        token = request.headers.get(authorizer.identity_headers[0])
        expression = authorizer.validation_expression
        if not token or (expression and re.fullmatch(expression, token) is None):
            return None
        return {"type": "TOKEN", "authorizationToken": token, "methodArn": method_arn}
    query = rest_query(request)[0] or {}
    if any(request.headers.get(name) is None for name in authorizer.identity_headers) or any(
        name not in query for name in authorizer.identity_query_strings
    ):
        return None
    proxy = build_rest_event(request, api, resource_path, path_parameters, request_id)
    del proxy["body"], proxy["isBase64Encoded"]
    return {"type": "REQUEST", "methodArn": method_arn, **proxy}


def _wildcard(pattern: str, value: str, ignore_case: bool = False) -> bool:
    regex = "".join({"*": ".*", "?": "."}.get(char, re.escape(char)) for char in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE if ignore_case else 0) is not None


def _as_list(value: Any) -> list[Any]:
    return [] if value is None else value if isinstance(value, list) else [value]


def evaluate_policy(document: Any, method_arn: str) -> str | None:
    """Return "Deny" if a matching statement denies, "Allow" if one allows, else None."""
    if not isinstance(document, dict):
        raise ValueError("policyDocument is not an object")
    allowed = False
    for statement in _as_list(document.get("Statement")):
        if not isinstance(statement, dict):
            raise ValueError("policy statement is not an object")
        actions = [str(a) for a in _as_list(statement.get("Action"))]
        resources = [str(r) for r in _as_list(statement.get("Resource"))]
        if any(_wildcard(a, "execute-api:Invoke", ignore_case=True) for a in actions) and any(
            _wildcard(r, method_arn) for r in resources
        ):
            if statement.get("Effect") == "Deny":
                return "Deny"
            allowed = allowed or statement.get("Effect") == "Allow"
    return "Allow" if allowed else None


def interpret(
    outcome: Outcome, method_arn: str
) -> tuple[dict[str, Any] | None, GatewayError | None, str]:
    """(requestContext.authorizer, None, note) when allowed, else (None, refusal, reason)."""
    if outcome.kind == "error":
        message = (outcome.error or {}).get("errorMessage")
        if message == "Unauthorized":
            return None, UNAUTHORIZED, "authorizer raised Unauthorized"
        return None, AUTHORIZER_CONFIGURATION_ERROR, f"authorizer failed: {message}"
    result = outcome.payload
    if outcome.kind != "ok" or not isinstance(result, dict) or "principalId" not in result:
        note = f"authorizer {outcome.kind} without a principalId"
        return None, AUTHORIZER_CONFIGURATION_ERROR, note
    try:
        effect = evaluate_policy(result.get("policyDocument"), method_arn)
        raw_context = result.get("context") or {}
        if not isinstance(raw_context, dict):
            raise ValueError("context is not an object")
        context: dict[str, Any] = {str(k): scalar_text(v) for k, v in raw_context.items()}
    except ValueError as exc:
        return None, AUTHORIZER_CONFIGURATION_ERROR, f"malformed authorizer result: {exc}"
    if effect != "Allow":
        denial = EXPLICIT_DENY if effect == "Deny" else NOT_AUTHORIZED
        return None, denial, f"{effect or 'no allow'}"
    context["principalId"] = str(result["principalId"])
    context["integrationLatency"] = int(outcome.duration_ms)
    if result.get("usageIdentifierKey") is not None:
        context["usageIdentifierKey"] = str(result["usageIdentifierKey"])
    return context, None, "allowed"
