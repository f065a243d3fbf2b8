"""Lambda REQUEST authorizer of the payment routes: `Authorization: Bearer <access token>`.

A valid token (HS256 pinned; iss, aud, integer iat/nbf/exp, jti and gen required) that was
not ended (one BatchGetItem: the account's token generation and the token's logout record)
gets an IAM policy allowing exactly the called method, with principalId and context `user_id`
set to the token's `sub`, and context `jti` to its id (the session a reauth token is bound
to). A refused token (missing, malformed, expired, forged, ended) gets an explicit Deny of
every route: a normal answer, not a function error, which API Gateway answers with its
ACCESS_DENIED gateway response (template.yaml: 401 `unauthorized`, WWW-Authenticate: Bearer).
Only the authorizer's own fault raises (DynamoDB unavailable during the check): a function
error, answered with AUTHORIZER_FAILURE (503 `service_unavailable`): refused, never allowed.
Every refusal is one log line with its reason, source IP, user agent and, when the signature
held, the subject (and its audit record); never the token, never a traceback.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
    APIGatewayRouteArn,
    HttpVerb,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from phoneverify import snapstart
from phoneverify.adapters.event_log import log_refused_request
from phoneverify.config import TokenSettings
from phoneverify.domain.errors import StorageUnavailable, TokenRefused
from phoneverify.domain.models import RequestOrigin
from phoneverify.http.request_end import writes_buffered_records_at_request_end
from phoneverify.runtime import Runtime
from phoneverify.tracing import traced

logger = Logger()
runtime = Runtime.from_environment(TokenSettings)
snapstart.register(runtime, "metrics", "sessions")  # SnapStart: built before the snapshot

# RFC 6750: the scheme is case-insensitive; a JWT is three base64url parts.
BEARER = re.compile(r"Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)", re.IGNORECASE)


# The principal of a Deny: API Gateway requires one, and a refused token names no one.
NOBODY = "anonymous"


def deny(
    route: APIGatewayRouteArn, reason: str, origin: RequestOrigin, subject: str | None = None
) -> dict[str, Any]:
    """An explicit Deny of every route of the API for a refused token, after its one log
    line: API Gateway answers ACCESS_DENIED (401 `unauthorized`), and the invocation is no
    function error."""
    log_refused_request(reason, origin, subject)
    policy = _policy(route, NOBODY)
    policy.deny_all_routes()
    return policy.asdict()


def _policy(
    route: APIGatewayRouteArn, principal: str, context: dict[str, Any] | None = None
) -> APIGatewayAuthorizerResponse:
    return APIGatewayAuthorizerResponse(
        principal_id=principal,
        region=route.region,
        aws_account_id=route.aws_account_id,
        api_id=route.api_id,
        stage=route.stage,
        context=context,
        partition=route.partition,
    )


def origin_of(event: APIGatewayAuthorizerRequestEvent) -> RequestOrigin:
    user_agent = event.headers.get("User-Agent") or ""  # case-insensitive
    return RequestOrigin(
        source_ip=event.request_context.identity.source_ip or "unknown",
        user_agent=user_agent[:256],
    )


@logger.inject_lambda_context(clear_state=True)
@traced
@runtime.metrics.log_metrics
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
@writes_buffered_records_at_request_end(runtime)  # a refusal's audit record (TOKEN_REFUSED)
def lambda_handler(
    event: APIGatewayAuthorizerRequestEvent, context: LambdaContext
) -> dict[str, Any]:
    return _authorize(event)


def _authorize(event: APIGatewayAuthorizerRequestEvent) -> dict[str, Any]:
    origin = origin_of(event)
    route = event.parsed_arn
    if str(route.http_method) not in HttpVerb.__members__:  # e.g. TRACE: no policy can name it
        return deny(route, "unsupported method", origin)
    match = BEARER.fullmatch((event.headers.get("Authorization") or "").strip())
    if match is None:
        return deny(route, "no bearer token", origin)
    try:
        claims = runtime.sessions.authenticate(match.group(1), origin)
    except TokenRefused as exc:
        return deny(route, exc.reason, origin, exc.subject)
    except StorageUnavailable:
        # Our own fault, not the caller's: raised, so API Gateway answers AUTHORIZER_FAILURE
        # (503, retry) and the invocation counts as the function error it is.
        logger.error("token check unavailable", extra={"source_ip": origin.source_ip})
        raise
    policy = _policy(route, claims.subject, {"user_id": claims.subject, "jti": claims.jti})
    policy.allow_route(http_method=str(route.http_method), resource=route.resource)
    return policy.asdict()
