"""The one place a domain error becomes HTTP: its status (from the table below, by class,
never by message text), its body and its headers."""

from __future__ import annotations

from typing import Any

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
)

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
