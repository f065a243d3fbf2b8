"""What the payment flow knows of a pending payment (flows/payment.py): whether it still is
pending with an unexpired code, its expiry, the refusal of one changed since its code was sent.
Each change is a conditional write by the payment lifecycle's rules (domain/lifecycle/payment.py).
Shared by the confirmation by code and by passkey (flows/payment_passkey.py)."""

from __future__ import annotations

import logging
from typing import NoReturn

from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import VerificationExpired
from phoneverify.domain.models import Payment, PaymentStatus
from phoneverify.domain.payment_errors import (
    PaymentDetailsChanged,
    PaymentNotFound,
    PaymentNotPending,
)
from phoneverify.ports.payments import PaymentRepository

logger = logging.getLogger("phoneverify.flows.payment")

RESTART_HINT = "Initiate a new payment."


class PendingPayments:
    """The rules of a pending payment over `_payments` and `_clock` (set by the flow)."""

    _payments: PaymentRepository
    _clock: Clock

    def _ensure_pending(self, payment: Payment) -> Payment:
        """`payment` if it is pending with an unexpired code, or the error that says why not."""
        if payment.status != PaymentStatus.PENDING or payment.flow_id is None:
            raise PaymentNotPending(payment.status.value)
        if payment.expires_at is None or self._clock.now() >= payment.expires_at:
            self._expire(payment)
        return payment

    def _expire(self, payment: Payment) -> NoReturn:
        """pending -> expired (conditional), then VerificationExpired; or why it no longer
        was pending."""
        if not self._payments.expire(payment.payment_id, self._clock.now()):
            self._raise_if_no_longer_pending(payment.payment_id)
        raise VerificationExpired("Verification expired. " + RESTART_HINT)

    def _raise_if_no_longer_pending(self, payment_id: str) -> None:
        current = self._payments.get(payment_id)
        if current is None:
            raise PaymentNotFound()
        if current.status != PaymentStatus.PENDING:
            raise PaymentNotPending(current.status.value)

    def _refuse_changed(self, payment: Payment, reason: str) -> NoReturn:
        logger.warning("payment refused: %s", reason, extra={"payment_id": payment.payment_id})
        self._payments.fail(
            payment.payment_id, PaymentStatus.PENDING, "details_changed", self._clock.now()
        )
        raise PaymentDetailsChanged()
