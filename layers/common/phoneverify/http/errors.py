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
    ConfirmationInProgress,
    DomainError,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InvalidCode,
    InvalidCredentials,
    InvalidRequest,
    InvalidWebhookSignature,
    NoPendingVerification,
    NotAuthenticated,
    PaymentDeclined,
    PaymentDetailsChanged,
    PaymentNotFound,
    PaymentNotPending,
    PhoneRequiredForPayment,
    RetryLater,
    SendBudgetExhausted,
    StorageUnavailable,
    VerificationExpired,
    VerificationNotFound,
    WatchRefused,
)

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
    PaymentDeclined: 402,
    AccountPhoneNotAllowed: 403,
    PhoneRequiredForPayment: 403,
    WatchRefused: 403,
    VerificationNotFound: 404,
    PaymentNotFound: 404,
    AlreadyRegistered: 409,
    CheckInProgress: 409,
    ConfirmationInProgress: 409,
    IdempotencyKeyInUse: 409,
    PaymentDetailsChanged: 409,
    VerificationExpired: 410,
    IdempotencyKeyReused: 422,
    RetryLater: 429,
    CodeDeliveryFailed: 502,
    CodeCheckFailed: 502,
    SendBudgetExhausted: 503,
    StorageUnavailable: 503,
}


def status_of(error: DomainError) -> int:
    for cls in type(error).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400  # unreachable: DomainError is in the table


def error_body(error: DomainError) -> dict[str, Any]:
    """`{"error", "code"}` and the error's extra fields (field, attempts_remaining, ...)."""
    return {"error": error.message, "code": error.code, **error.extra}


def error_headers(error: DomainError) -> dict[str, str]:
    """Retry-After for every error that says when to come back (429s and 503s)."""
    retry_after = getattr(error, "retry_after", None)
    if isinstance(retry_after, int):
        return {"Retry-After": str(retry_after)}
    return {}


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(status_code=status, content_type=JSON, body=json.dumps(body), headers=headers)


def _field_of(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
    return ".".join(loc)


def _describe(error: dict[str, Any]) -> tuple[str, str | None]:
    kind = error.get("type", "")
    field = _field_of(error)
    if kind == "json_invalid":
        return "Request body is not valid JSON", None
    if kind == "missing" and not field:
        return "Request body is required", None
    if kind == "missing":
        return f"{field} is required", field
    if kind == "extra_forbidden":
        return f"{field} is not an allowed field", field
    if kind == "model_attributes_type":
        return "Request body must be a JSON object", None
    return f"{field}: {error.get('msg', 'is invalid')}", field or None


def register_error_handlers(app: ApiGatewayResolver) -> None:
    """Register the one mapping from domain (and validation) errors to HTTP responses."""

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def domain_error(exc: DomainError) -> Response[str]:
        return error_response(status_of(exc), error_body(exc), error_headers(exc))

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(exc: RequestValidationError) -> Response[str]:
        errors = list(exc.errors())
        message, field = _describe(errors[0]) if errors else ("Invalid request", None)
        body: dict[str, Any] = {"error": message, "code": "invalid_request"}
        if field:
            body["field"] = field
        return error_response(400, body)

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def unsupported_media_type(exc: RequestUnsupportedContentType) -> Response[str]:
        return error_response(
            415,
            {"error": "Content-Type must be application/json", "code": "unsupported_media_type"},
        )

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(500, {"error": "Internal error", "code": "internal_error"})
