"""Who is calling: the bearer token checked here, or the user the Lambda authorizer put in
the request context."""

from __future__ import annotations

from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
)

from phoneverify.adapters.event_log import log_refused_request
from phoneverify.domain.errors import NotAuthenticated, TokenRefused
from phoneverify.domain.models import RequestOrigin
from phoneverify.flows.engine.step_up import Caller
from phoneverify.http.requests import request_origin

logger = Logger(child=True)

if TYPE_CHECKING:
    from phoneverify.domain.tokens import TokenClaims
    from phoneverify.flows.sessions import Sessions


# OpenAPI: the bearer scheme, and the `security` of routes that check the token themselves
# (devtools/openapi.py marks those behind the authorizer).
BEARER_SCHEME = "bearerAuth"
BEARER_REQUIRED: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]
# Routes where the token is needed for one kind of target only (a payment's id) declare no
# `security` (a `[{}, {bearerAuth: []}]` makes generators such as openapi-python-client ask for
# an authenticated client): their description says when to send `Authorization`.
OPTIONAL_BEARER_NOTE = (
    "`Authorization: Bearer <token>` is optional: send the payer's token with `payment_id` "
    "(without it: 401 `unauthorized`); a `flow_id` needs none."
)

# Fresh authentication (docs/sessions.md#fresh-authentication): the header every sensitive
# route reads, and its OpenAPI parameter (`documented(..., headers=(REAUTH_TOKEN_PARAMETER,))`).
REAUTH_TOKEN_HEADER = "Reauth-Token"  # noqa: S105 - a header's name
MAX_REAUTH_TOKEN_LENGTH = 4096  # ours are about 400 characters; a longer one is no token of ours
REAUTH_TOKEN_PARAMETER = {
    "name": REAUTH_TOKEN_HEADER,
    "in": "header",
    "required": False,
    "description": "The reauth_token of POST /account/reauth/verify (or /start for an account "
    "without a phone), for this account and this session, at most 5 minutes old.",
    "schema": {"type": "string", "maxLength": MAX_REAUTH_TOKEN_LENGTH},
}


def bearer_claims(app: APIGatewayRestResolver, sessions: Sessions) -> TokenClaims:
    """The claims of the request's `Authorization: Bearer` token, on a route without the
    authorizer: valid and not ended (one DynamoDB read), else 401; 503 when that read fails."""
    origin = request_origin(app)
    scheme, _, token = (app.current_event.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _refused("no bearer token", origin, NotAuthenticated())
    try:
        return sessions.authenticate(token.strip(), origin)
    except TokenRefused as exc:  # audited by Sessions; logged here as the authorizer logs
        raise _refused(exc.reason, origin, exc) from None


def _refused(reason: str, origin: RequestOrigin, error: NotAuthenticated) -> NotAuthenticated:
    """`error`, after the line the authorizer logs for each refusal (functions/authorizer):
    the reason, the caller's address and user agent, and the subject when the signature held;
    never the token."""
    log_refused_request(reason, origin, getattr(error, "subject", None))
    return error


def bearer_user(app: APIGatewayRestResolver, sessions: Sessions) -> str:
    """The user of the request's valid, not ended bearer token (see bearer_claims)."""
    return bearer_claims(app, sessions).subject


def authenticated_user(app: APIGatewayRestResolver) -> str:
    """The user id the Lambda authorizer put in the request context, never one from the body.

    Without it (a route deployed without its authorizer) the answer is 401.
    """
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    principal = context.get("principalId")
    if not isinstance(principal, str) or not principal:
        raise NotAuthenticated()
    if context.get("user_id", principal) != principal:
        raise NotAuthenticated()
    return principal


def signed_in_caller(app: APIGatewayRestResolver) -> Caller:
    """Who calls a route behind the authorizer, for the step-up (flows/engine/step_up.py): the
    account and session (the access token's `jti`) the authorizer put in the request context,
    and the `Reauth-Token` header if any. Every sensitive route reads its caller here and hands
    it to its flow, which asks `StepUp.require` with the account it read."""
    user_id = authenticated_user(app)
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    session = context.get("jti")
    token = (app.current_event.headers.get(REAUTH_TOKEN_HEADER.lower()) or "").strip()
    return Caller(
        user_id,
        session if isinstance(session, str) and session else None,
        token if 0 < len(token) <= MAX_REAUTH_TOKEN_LENGTH else None,
    )
