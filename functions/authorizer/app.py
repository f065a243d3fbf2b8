"""Lambda REQUEST authorizer of the payment routes: `Authorization: Bearer <access token>`.

A valid token (HS256 pinned; iss, aud, exp and jti required) gets an IAM policy allowing
exactly the called method, with principalId and context `user_id` set to the token's `sub`.
Anything else raises Exception("Unauthorized"), which API Gateway answers with 401.
"""

from __future__ import annotations

import re
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.data_classes import event_source
from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerRequestEvent,
    APIGatewayAuthorizerResponse,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from phoneverify.runtime import Runtime
from phoneverify.tokens import InvalidToken

logger = Logger()
runtime = Runtime.from_environment()

# RFC 6750: the scheme is case-insensitive; a JWT is three base64url parts.
BEARER = re.compile(r"Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)", re.IGNORECASE)


def unauthorized(reason: str) -> Exception:
    logger.info("request refused", extra={"reason": reason})
    return Exception("Unauthorized")  # the exact message API Gateway turns into a 401


@logger.inject_lambda_context(clear_state=True)
@event_source(data_class=APIGatewayAuthorizerRequestEvent)
def lambda_handler(
    event: APIGatewayAuthorizerRequestEvent, context: LambdaContext
) -> dict[str, Any]:
    match = BEARER.fullmatch((event.headers.get("Authorization") or "").strip())
    if match is None:
        raise unauthorized("no bearer token")
    try:
        claims = runtime.tokens.decode_access_token(match.group(1))
    except InvalidToken as exc:
        raise unauthorized(str(exc)) from None
    subject = claims["sub"]
    if not isinstance(subject, str) or not subject:
        raise unauthorized("token without a subject")
    route = event.parsed_arn
    policy = APIGatewayAuthorizerResponse(
        principal_id=subject,
        region=route.region,
        aws_account_id=route.aws_account_id,
        api_id=route.api_id,
        stage=route.stage,
        context={"user_id": subject},
        partition=route.partition,
    )
    policy.allow_route(http_method=str(route.http_method), resource=route.resource)
    return policy.asdict()
