"""What each route tells the OpenAPI document, derived from the code: its short operation id,
its tag, its success status (body schema from the handler's return type) and every error
status it can answer, each from the one table in http/errors.py, with the shared error schema.

A handler names the errors its use case raises; the errors every route can answer (a bad
body, a body too large, not JSON, DynamoDB unavailable, an unforeseen failure) are added
here, so a new route is documented by `@app.post(path, **documented(...))` alone.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from aws_lambda_powertools.event_handler.openapi.types import (
    OpenAPIResponse,
    OpenAPIResponseHeader,
)

from phoneverify.domain.errors import (
    AccountLocked,
    AccountPhoneNotAllowed,
    CheckInProgress,
    CodeCheckFailed,
    CodeDeliveryFailed,
    DomainError,
    EmailBudgetExhausted,
    EmailDeliveryFailed,
    EmailUndeliverable,
    InvalidCode,
    InvalidRequest,
    NoPendingVerification,
    ResendTooSoon,
    SendBudgetExhausted,
    SendLimitReached,
    StorageUnavailable,
    TooManyAttempts,
    VerificationExpired,
)
from phoneverify.http.edge_errors import (
    BodyTooLarge,
    InternalError,
    UnsupportedMediaType,
)
from phoneverify.http.errors import JSON, status_for, tells_retry_after
from phoneverify.http.responses import ErrorResponse

# Every route behind http_app can answer these (http/app.py, http/errors.py).
EVERY_ROUTE: tuple[type[DomainError], ...] = (
    InvalidRequest,
    BodyTooLarge,
    UnsupportedMediaType,
    StorageUnavailable,
    InternalError,
)

RETRY_AFTER_HEADER: OpenAPIResponseHeader = {
    "description": "Seconds to wait before trying again (the body's retry_after).",
    "schema": {"type": "integer", "minimum": 0},
}


def error_codes(errors: tuple[type[DomainError], ...]) -> dict[int, list[str]]:
    """status -> the distinct `code` values these errors answer it with, in the order given."""
    codes: dict[int, list[str]] = defaultdict(list)
    for error in errors:
        status = status_for(error)
        if error.code not in codes[status]:
            codes[status].append(error.code)
    return dict(sorted(codes.items()))


def error_responses(*errors: type[DomainError]) -> dict[int, OpenAPIResponse]:
    """One documented response per status these errors (and every route's) answer with."""
    every = (*EVERY_ROUTE, *errors)
    responses: dict[int, OpenAPIResponse] = {}
    for status, codes in error_codes(every).items():
        response: OpenAPIResponse = {
            "description": "code: " + ", ".join(f"`{code}`" for code in codes),
            "content": {JSON: {"model": ErrorResponse}},
        }
        if any(tells_retry_after(e) for e in every if status_for(e) == status):
            response["headers"] = {"Retry-After": RETRY_AFTER_HEADER}
        responses[status] = response
    return responses


def documented(
    operation_id: str,
    tag: str,
    *errors: type[DomainError],
    status: int = 200,
    description: str = "Done",
    headers: tuple[dict[str, Any], ...] = (),
) -> dict[str, Any]:
    """The keyword arguments of `app.post`/`app.get` that document a route: its operation id
    (short camelCase: `loginVerify`), its tag (the flow), `status` answered on success with
    the handler's return type as body, and every error status with the shared error body;
    `headers`: request headers the handler reads itself (OpenAPI parameter objects)."""
    route: dict[str, Any] = {
        "operation_id": operation_id,
        "tags": [tag],
        "responses": {status: {"description": description}, **error_responses(*errors)},
    }
    if headers:
        route["openapi_extensions"] = {"parameters": list(headers)}
    return route


# What the shared code-challenge mechanics raise (flows/engine/), by step.
OPENS_A_CHALLENGE: tuple[type[DomainError], ...] = (
    SendLimitReached,
    AccountLocked,
    SendBudgetExhausted,
    CodeDeliveryFailed,
)
# What an email sent on a request may answer (docs/email.md): the address suppressed, SES
# refusing, the email budget spent, the email limits full.
SENDS_AN_EMAIL: tuple[type[DomainError], ...] = (
    EmailUndeliverable,
    EmailDeliveryFailed,
    EmailBudgetExhausted,
    SendLimitReached,
)
SENDS_TO_AN_ACCOUNT_PHONE: tuple[type[DomainError], ...] = (
    *OPENS_A_CHALLENGE,
    AccountPhoneNotAllowed,
)
RESENDS_A_CODE: tuple[type[DomainError], ...] = (
    NoPendingVerification,
    VerificationExpired,
    TooManyAttempts,
    ResendTooSoon,
    *SENDS_TO_AN_ACCOUNT_PHONE,
)
CHECKS_A_CODE: tuple[type[DomainError], ...] = (
    NoPendingVerification,
    InvalidCode,
    VerificationExpired,
    TooManyAttempts,
    CheckInProgress,
    AccountLocked,
    CodeCheckFailed,
)
