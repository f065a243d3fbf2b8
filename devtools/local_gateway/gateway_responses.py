"""API Gateway's own answers (no route, authorizer refusals, timeouts), and the
``GatewayResponses`` of an API that reshape them.

SAM puts an Api's ``GatewayResponses`` in its OpenAPI body as
``x-amazon-apigateway-gateway-responses``: per response type an optional ``statusCode``,
``responseParameters`` (``gatewayresponse.header.<Name>: "'static value'"``) and
``responseTemplates`` (a mapping template per content type). As in API Gateway, a type
without its own entry uses ``DEFAULT_4XX`` or ``DEFAULT_5XX`` by status, and a type with none
answers API Gateway's default ``{"message": ...}``. Templates are rendered with the
``$context`` variables a gateway error has (``$context.error.message``,
``$context.error.messageString``, ``$context.error.responseType``, ``$context.requestId``);
anything else in a template (other variables, VTL directives) is reported when the template
is loaded and left out of the body.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

EXTENSION = "x-amazon-apigateway-gateway-responses"
HEADER_PREFIX = "gatewayresponse.header."
VARIABLE = re.compile(r"\$!?\{?(context(?:\.[A-Za-z]+)+)\}?")
RENDERED = {
    "context.error.message",
    "context.error.messageString",
    "context.error.responseType",
    "context.requestId",
}


@dataclass(frozen=True)
class GatewayError:
    """One of API Gateway's own answers before any GatewayResponse reshapes it."""

    response_type: str  # UNAUTHORIZED, MISSING_AUTHENTICATION_TOKEN, ...
    status: int
    message: str | None
    error_type: str | None = None  # the x-amzn-ErrorType header
    message_key: str = "message"  # an authorizer's policy refusal says "Message"


UNAUTHORIZED = GatewayError("UNAUTHORIZED", 401, "Unauthorized", "UnauthorizedException")
MISSING_AUTHENTICATION_TOKEN = GatewayError(
    "MISSING_AUTHENTICATION_TOKEN",
    403,
    "Missing Authentication Token",
    "MissingAuthenticationTokenException",
)
AUTHORIZER_CONFIGURATION_ERROR = GatewayError(
    "AUTHORIZER_CONFIGURATION_ERROR", 500, None, "AuthorizerConfigurationException"
)
EXPLICIT_DENY = GatewayError(
    "ACCESS_DENIED",
    403,
    "User is not authorized to access this resource with an explicit deny",
    "AccessDeniedException",
    "Message",
)
NOT_AUTHORIZED = GatewayError(
    "ACCESS_DENIED",
    403,
    "User is not authorized to access this resource",
    "AccessDeniedException",
    "Message",
)
INTEGRATION_TIMEOUT = GatewayError("INTEGRATION_TIMEOUT", 504, "Endpoint request timed out")
# A Lambda proxy integration that failed or answered something unusable.
INTEGRATION_ERROR = GatewayError("DEFAULT_5XX", 502, "Internal server error")


@dataclass(frozen=True)
class GatewayResponse:
    """One entry of ``x-amazon-apigateway-gateway-responses``, read for local serving."""

    status: int | None
    headers: tuple[tuple[str, str], ...]
    templates: Mapping[str, str]


def read_gateway_responses(
    body: Mapping[str, Any], api_logical_id: str, warnings: list[str]
) -> dict[str, GatewayResponse]:
    """The API's gateway responses by type; what cannot be served locally goes to warnings."""
    responses: dict[str, GatewayResponse] = {}
    for response_type, entry in (body.get(EXTENSION) or {}).items():
        where = f"{api_logical_id} GatewayResponses {response_type}"
        headers: list[tuple[str, str]] = []
        for name, value in (entry.get("responseParameters") or {}).items():
            static = str(value)
            if not name.startswith(HEADER_PREFIX) or not re.fullmatch(r"'[^']*'", static):
                warnings.append(f"{where}: {name}={value!r} is not applied locally")
                continue
            headers.append((name.removeprefix(HEADER_PREFIX), static[1:-1]))
        templates = {str(k): str(v) for k, v in (entry.get("responseTemplates") or {}).items()}
        for content_type, template in templates.items():
            unknown = {match.group(1) for match in VARIABLE.finditer(template)} - RENDERED
            if unknown or "#" in VARIABLE.sub("", template).replace("\\#", ""):
                what = ", ".join(sorted(unknown)) or "a VTL directive"
                warnings.append(f"{where} {content_type}: {what} is not rendered locally")
        status = entry.get("statusCode")
        responses[str(response_type)] = GatewayResponse(
            int(status) if status else None, tuple(headers), templates
        )
    return responses


def _render(template: str, error: GatewayError, request_id: str) -> str:
    values = {
        "context.error.message": error.message or "",
        "context.error.messageString": json.dumps(error.message),
        "context.error.responseType": error.response_type,
        "context.requestId": request_id,
    }
    return VARIABLE.sub(lambda match: values.get(match.group(1), ""), template)


def gateway_answer(
    responses: Mapping[str, GatewayResponse], error: GatewayError, request_id: str
) -> tuple[str, int, list[tuple[str, str]]]:
    """(JSON body, status, headers) of API Gateway's answer for ``error``, reshaped by the
    API's gateway responses."""
    default_type = "DEFAULT_4XX" if error.status < 500 else "DEFAULT_5XX"
    own = responses.get(error.response_type)
    configured = own or responses.get(default_type)
    status = (own.status if own else None) or error.status
    headers = [("x-amzn-ErrorType", error.error_type)] if error.error_type else []
    body = json.dumps({error.message_key: error.message})
    if configured is not None:
        headers += configured.headers
        template = configured.templates.get("application/json")
        if template is not None:
            body = _render(template, error, request_id)
    return body, status, headers
