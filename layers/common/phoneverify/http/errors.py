"""The one place a domain error becomes HTTP: its status (from the table below, by class,
never by message text), its body and its headers."""

from __future__ import annotations

import json
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)

from phoneverify.domain.errors import (
    AccountPhoneNotAllowed,
    AlreadyRegistered,
    CheckInProgress,
    CodeCheckFailed,
    CodeDeliveryFailed,
    DomainError,
    InvalidCode,
    InvalidCredentials,
    InvalidRequest,
    InvalidWebhookSignature,
    LostPhoneWaiting,
    NoPendingVerification,
    NotAuthenticated,
    PhoneSwapPending,
    ReauthRequired,
    RetryLater,
    SendBudgetExhausted,
    StorageUnavailable,
    VerificationExpired,
    VerificationNotFound,
    WatchRefused,
)
from phoneverify.domain.factor_errors import FactorAlreadyEnrolled, FactorNotEnrolled
from phoneverify.domain.passkeys import (
    PasskeyAlreadyRegistered,
    PasskeyNotFound,
    PasskeyRejected,
    TooManyPasskeys,
)
from phoneverify.domain.payment_errors import (
    ConfirmationInProgress,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PaymentDeclined,
    PaymentDetailsChanged,
    PaymentNotFound,
    PaymentNotPending,
    PhoneRequiredForPayment,
)
from phoneverify.domain.validation import describe_validation_error
from phoneverify.http.edge_errors import (
    BodyTooLarge,
    InternalError,
    MethodNotAllowed,
    RouteNotFound,
    UnsupportedMediaType,
)
from phoneverify.tracing import annotate

logger = Logger()
JSON = "application/json"

# Error class -> status. A subclass not named answers its nearest named ancestor's status
# (TooManyAttempts, a RetryLater: 429; PhoneNotAllowed, an InvalidRequest: 400).
STATUS: dict[type[DomainError], int] = {
    DomainError: 400,
    InvalidRequest: 400,
    NoPendingVerification: 400,
    PaymentNotPending: 400,
    InvalidCredentials: 401,
    InvalidCode: 401,
    InvalidWebhookSignature: 401,
    NotAuthenticated: 401,
    ReauthRequired: 401,
    PasskeyRejected: 401,
    PaymentDeclined: 402,
    AccountPhoneNotAllowed: 403,
    PhoneRequiredForPayment: 403,
    WatchRefused: 403,
    VerificationNotFound: 404,
    PaymentNotFound: 404,
    FactorNotEnrolled: 404,
    PasskeyNotFound: 404,
    RouteNotFound: 404,
    MethodNotAllowed: 405,
    AlreadyRegistered: 409,
    FactorAlreadyEnrolled: 409,
    CheckInProgress: 409,
    LostPhoneWaiting: 409,
    PhoneSwapPending: 409,
    ConfirmationInProgress: 409,
    IdempotencyKeyInUse: 409,
    PaymentDetailsChanged: 409,
    PasskeyAlreadyRegistered: 409,
    TooManyPasskeys: 409,
    VerificationExpired: 410,
    BodyTooLarge: 413,
    UnsupportedMediaType: 415,
    IdempotencyKeyReused: 422,
    RetryLater: 429,
    InternalError: 500,
    CodeDeliveryFailed: 502,
    CodeCheckFailed: 502,
    SendBudgetExhausted: 503,
    StorageUnavailable: 503,
}


def status_for(error_class: type[DomainError]) -> int:
    """The status every error of `error_class` answers with (its nearest named ancestor's)."""
    for cls in error_class.__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400  # unreachable: DomainError is in the table


def answered_codes() -> set[tuple[str, int]]:
    """(code, status) of every error class: what the functions can answer (the OpenAPI
    document's ErrorCode enum, docs/api.md's table)."""
    found: set[tuple[str, int]] = set()
    pending: list[type[DomainError]] = [DomainError]
    while pending:
        cls = pending.pop()
        found.add((cls.code, status_for(cls)))
        pending.extend(cls.__subclasses__())
    return found


def status_of(error: DomainError) -> int:
    return status_for(type(error))


# Telnyx or the email service failed (502): when to try again, as a 503 says it.
UPSTREAM_FAILED = (CodeDeliveryFailed, CodeCheckFailed)
UPSTREAM_RETRY_AFTER_SECS = 2


def error_body(error: DomainError) -> dict[str, Any]:
    """`{"error", "code"}` and the error's extra fields (field, attempts_remaining, ...)."""
    body = {"error": error.message, "code": error.code, **error.extra}
    if isinstance(error, UPSTREAM_FAILED):
        body["retry_after"] = UPSTREAM_RETRY_AFTER_SECS
    return body


def tells_retry_after(error_class: type[DomainError]) -> bool:
    """Whether errors of this class carry `retry_after` (body) and `Retry-After` (header)."""
    return issubclass(
        error_class,
        (RetryLater, SendBudgetExhausted, StorageUnavailable, *UPSTREAM_FAILED),
    )


def error_headers(error: DomainError) -> dict[str, str]:
    """Retry-After for every error that says when to come back (429s, 502s and 503s); Allow for
    a 405; the bearer challenge for a refused token (RFC 6750, as the gateway's 401 has it)."""
    if isinstance(error, MethodNotAllowed):
        return {"Allow": ", ".join(error.allowed)}
    if isinstance(error, NotAuthenticated):
        return {"WWW-Authenticate": "Bearer"}
    retry_after = getattr(error, "retry_after", None)
    if isinstance(error, UPSTREAM_FAILED):
        retry_after = UPSTREAM_RETRY_AFTER_SECS
    if isinstance(retry_after, int):
        return {"Retry-After": str(retry_after)}
    return {}


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(status_code=status, content_type=JSON, body=json.dumps(body), headers=headers)


def domain_error_response(error: DomainError) -> Response[str]:
    annotate(error_code=error.code)  # the trace's: `annotation.error_code = "..."`
    return error_response(status_of(error), error_body(error), error_headers(error))


def register_error_handlers(app: ApiGatewayResolver) -> None:
    """Register the one mapping from domain (and validation) errors to HTTP responses."""

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def domain_error(exc: DomainError) -> Response[str]:
        return domain_error_response(exc)

    @app.not_found
    def no_route(exc: Exception) -> Response[str]:
        return domain_error_response(RouteNotFound())

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(exc: RequestValidationError) -> Response[str]:
        errors = list(exc.errors())
        message, field = describe_validation_error(errors[0]) if errors else (None, None)
        return domain_error_response(
            InvalidRequest(message) if field is None else InvalidRequest(message, field=field)
        )

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def unsupported_media_type(exc: RequestUnsupportedContentType) -> Response[str]:
        return domain_error_response(UnsupportedMediaType())

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return domain_error_response(InternalError())
