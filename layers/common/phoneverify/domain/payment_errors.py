"""The errors of payments (docs/payments.md): a payment not found, no longer pending, refused
or changed, and the Idempotency-Key's. Their statuses are in `phoneverify.http.errors` with
every other error's."""

from __future__ import annotations

from phoneverify.domain.errors import DomainError, RetryLater


class PaymentNotFound(DomainError):
    """No such payment, or it belongs to someone else: the two are indistinguishable."""

    code = "payment_not_found"
    message = "Payment not found"


class PaymentNotPending(DomainError):
    code = "payment_not_pending"

    def __init__(self, status: str) -> None:
        super().__init__(f"Payment already {status}", status=status)


class PhoneRequiredForPayment(DomainError):
    """A payment at or above the threshold needs a code, and the account has no phone."""

    code = "phone_required"
    message = "A verified phone number is required for payments of this amount"


class PaymentDetailsChanged(DomainError):
    """The payment no longer matches what the code was sent for; it is now failed."""

    code = "payment_details_changed"
    message = "Payment details changed after verification was requested. Initiate a new payment."


class PaymentDeclined(DomainError):
    """The payment processor refused the payment; it is now failed."""

    code = "payment_declined"
    message = "Payment declined"


class IdempotencyKeyReused(DomainError):
    """The Idempotency-Key was already used with a different request body."""

    code = "idempotency_key_reused"
    message = "Idempotency-Key was already used with a different request"

    def __init__(self) -> None:
        super().__init__(field="Idempotency-Key")


class IdempotencyKeyInUse(RetryLater):
    """The first request with this Idempotency-Key is still being processed."""

    code = "idempotency_key_in_use"
    message = "A request with this Idempotency-Key is still being processed"

    def __init__(self) -> None:
        super().__init__(1)


class ConfirmationInProgress(RetryLater):
    """Another confirmation of this payment is running; its outcome will be the answer."""

    code = "confirmation_in_progress"
    message = "This payment is already being confirmed"

    def __init__(self) -> None:
        super().__init__(1)
