"""The WebSocket API's edge (docs/realtime.md): its $connect and $disconnect events in, a
status out. A $connect answered with anything but 2xx is refused by API Gateway: the client's
handshake fails with that status, and no connection is made."""

from __future__ import annotations

import json
from collections.abc import Collection
from typing import Any

from aws_lambda_powertools import Logger
from pydantic import TypeAdapter, ValidationError

from phoneverify.domain.errors import DomainError, InvalidRequest, WatchRefused
from phoneverify.flows.live_status import LiveStatus
from phoneverify.http.errors import JSON, error_body, error_headers, status_of
from phoneverify.http.fields import FlowId

logger = Logger()
_FLOW_ID: TypeAdapter[str] = TypeAdapter(FlowId)


def _flow_id(event: dict[str, Any]) -> str:
    raw = (event.get("queryStringParameters") or {}).get("flow_id")
    if not raw:
        raise InvalidRequest("flow_id is required", field="flow_id")
    try:
        return _FLOW_ID.validate_python(raw)
    except ValidationError:
        raise InvalidRequest("flow_id is not a valid flow id", field="flow_id") from None


def _origin(event: dict[str, Any]) -> str | None:
    headers = {str(k).lower(): v for k, v in (event.get("headers") or {}).items()}
    origin = headers.get("origin")
    return str(origin) if origin else None


def _refusal(error: DomainError) -> dict[str, Any]:
    return {
        "statusCode": status_of(error),
        "headers": {"Content-Type": JSON, **error_headers(error)},
        "body": json.dumps(error_body(error)),
    }


def websocket_connect(
    event: dict[str, Any], live: LiveStatus, allowed_origins: str | Collection[str]
) -> dict[str, Any]:
    """$connect?flow_id=...: admitted (200) only for a pending, unexpired flow. A browser on
    another origin is refused too (the page's own origin is the stack's AllowedOrigin, or
    another of Settings.cors_origins);
    clients that send no Origin (apps, servers) hold the flow id, which is what counts."""
    connection_id = str(event["requestContext"]["connectionId"])
    try:
        origin = _origin(event)
        allowed = {allowed_origins} if isinstance(allowed_origins, str) else set(allowed_origins)
        if origin is not None and origin not in allowed:
            raise WatchRefused()
        live.connect(_flow_id(event), connection_id)
    except DomainError as refused:
        # Neither the flow id nor the connection id is logged: the error's name is enough.
        logger.info("websocket connect refused", extra={"error_code": refused.code})
        return _refusal(refused)
    return {"statusCode": 200}


def websocket_disconnect(event: dict[str, Any], live: LiveStatus) -> dict[str, Any]:
    """$disconnect: the connection is forgotten (API Gateway ignores the answer; a storage
    failure leaves it to the TTL)."""
    try:
        live.disconnect(str(event["requestContext"]["connectionId"]))
    except DomainError as failed:
        logger.warning("websocket disconnect not recorded", extra={"error_code": failed.code})
    return {"statusCode": 200}
