"""Lambda REQUEST authorizer of the payment routes: `Authorization: Bearer <access token>`.

A valid token (HS256 pinned; iss, aud, integer iat/nbf/exp, jti and gen required) that was
not ended (one BatchGetItem: the account's token generation and the token's logout record)
gets an IAM policy allowing exactly the called method, with principalId and context `user_id`
set to the token's `sub`, and context `jti` to its id (the session a reauth token is bound
to). Anything else raises Exception("Unauthorized"), which API Gateway answers with 401;
so does a failed check (DynamoDB unavailable): refused, never allowed.
Every refusal is logged with its reason, source IP, user agent and, when the signature held,
the subject; never the token.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
    HttpVerb,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from phoneverify.adapters.event_log import log_refused_request
from phoneverify.config import TokenSettings
from phoneverify.domain.errors import StorageUnavailable, TokenRefused
from phoneverify.domain.models import RequestOrigin
from phoneverify.http.request_end import writes_buffered_records_at_request_end
from phoneverify.runtime import Runtime
from phoneverify.tracing import traced

logger = Logger()
runtime = Runtime.from_environment(TokenSettings)

# RFC 6750: the scheme is case-insensitive; a JWT is three base64url parts.
BEARER = re.compile(r"Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)", re.IGNORECASE)


def unauthorized(reason: str, origin: RequestOrigin, subject: str | None = None) -> Exception:
    log_refused_request(reason, origin, subject)
    return Exception("Unauthorized")  # the exact message API Gateway turns into a 401


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
        raise unauthorized("unsupported method", origin)
    match = BEARER.fullmatch((event.headers.get("Authorization") or "").strip())
    if match is None:
        raise unauthorized("no bearer token", origin)
    try:
        claims = runtime.sessions.authenticate(match.group(1), origin)
    except TokenRefused as exc:
        raise unauthorized(exc.reason, origin, exc.subject) from None
    except StorageUnavailable:
        logger.error("token check unavailable: refused", extra={"source_ip": origin.source_ip})
        raise unauthorized("check_unavailable", origin) from None
    policy = APIGatewayAuthorizerResponse(
        principal_id=claims.subject,
        region=route.region,
        aws_account_id=route.aws_account_id,
        api_id=route.api_id,
        stage=route.stage,
        context={"user_id": claims.subject, "jti": claims.jti},
        partition=route.partition,
    )
    policy.allow_route(http_method=str(route.http_method), resource=route.resource)
    return policy.asdict()
