"""Domain errors. Flows raise these; `phoneverify.api` alone turns them into HTTP."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An outcome a client is told about: a status, a readable message and a machine code."""

    status: int = 400
    code: str = "bad_request"
    message: str = "Bad request"

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or type(self).message
        self.extra = extra
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.extra}

    def headers(self) -> dict[str, str]:
        return {}


class InvalidRequest(DomainError):
    status = 400
    code = "invalid_request"
    message = "Invalid request"


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"
    message = "Invalid credentials"


class NoPendingVerification(DomainError):
    status = 400
    code = "no_pending_verification"
    message = "No pending verification. Start login again."


class VerificationExpired(DomainError):
    status = 410
    code = "verification_expired"
    message = "Verification expired. Start login again."


class InvalidCode(DomainError):
    status = 401
    code = "invalid_code"
    message = "Invalid code"

    def __init__(self, attempts_remaining: int) -> None:
        super().__init__(response_code="rejected", attempts_remaining=attempts_remaining)


class RetryLater(DomainError):
    """A 429: the client may try again after `retry_after` seconds."""

    status = 429
    code = "rate_limited"
    message = "Too many requests"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(0, int(retry_after))
        super().__init__(message, retry_after=self.retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


class TooManyAttempts(RetryLater):
    """The flow is closed for good; a new one may be started at once."""

    code = "too_many_attempts"
    message = "Too many attempts. Please start the login process again."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(0, message)


class ResendTooSoon(RetryLater):
    code = "resend_cooldown"
    message = "Please wait before requesting another code."


class SendLimitReached(RetryLater):
    code = "send_limit_reached"
    message = "Too many codes requested. Please try again later."


class CodeDeliveryFailed(DomainError):
    """Telnyx could not be reached or refused to send; nothing was written."""

    status = 502
    code = "code_delivery_failed"
    message = "Failed to send verification code"


class CodeCheckFailed(DomainError):
    """Telnyx could not check the code; no attempt was consumed."""

    status = 502
    code = "code_check_failed"
    message = "Verification failed"


class StorageUnavailable(DomainError):
    """DynamoDB throttled or could not be reached."""

    status = 503
    code = "service_unavailable"
    message = "Service temporarily unavailable. Please try again."

    def __init__(self, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(retry_after=retry_after)

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}
