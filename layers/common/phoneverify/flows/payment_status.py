"""Reads of a payment by its payer: whose it is (`owned_payment`), and where its code stands
(GET /verify/status?payment_id=…, PaymentVerificationStatus)."""

from __future__ import annotations

from dataclasses import replace

from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    VerificationNotFound,
)
from phoneverify.domain.models import FlowStatus, Payment, PaymentChallengeState, PaymentStatus
from phoneverify.domain.payment_errors import (
    PaymentNotFound,
)
from phoneverify.flows.engine.any_flow import AnyFlow, ChallengeState
from phoneverify.ports.payments import PaymentRepository


class PaymentVerificationStatus:
    """Where the code of the payer's payment stands, and what became of its SMS (GET
    /verify/status?payment_id=…), while its flow id stays on the server.

    Two reads: the payment (whose it is, and its flow id), then its flow (AnyFlow.status).
    Nothing is written: a payment past its expiry is ended by the next confirm or resend.
    """

    def __init__(self, *, payments: PaymentRepository, flows: AnyFlow, clock: Clock) -> None:
        self._payments = payments
        self._flows = flows
        self._clock = clock

    def status(self, user_id: str, payment_id: str) -> PaymentChallengeState:
        """Where the code stands, and the payment (`payment_status`: processing, then
        completed or failed, also when the reconciler settled it). Raises PaymentNotFound
        (unknown, or someone else's: the same answer) and VerificationNotFound (a payment made
        without a code, or a flow past its retention)."""
        payment = owned_payment(self._payments, user_id, payment_id)
        if payment.flow_id is None:
            raise VerificationNotFound()
        state = self._flows.status(payment.flow_id)
        if state.status == FlowStatus.PENDING.value and not self._awaiting_code(payment):
            # The payment ended and its flow was not (yet) told: the payment has the last word.
            cancelled = payment.status == PaymentStatus.CANCELLED
            ended = FlowStatus.CANCELLED.value if cancelled else "expired"
            state = replace(state, status=ended, expires_in=0)
        return _with_payment(state, payment)

    def _awaiting_code(self, payment: Payment) -> bool:
        return (
            payment.status == PaymentStatus.PENDING
            and payment.expires_at is not None
            and self._clock.now() < payment.expires_at
        )


def _with_payment(state: ChallengeState, payment: Payment) -> PaymentChallengeState:
    return PaymentChallengeState(
        status=state.status,
        delivery_status=state.delivery_status,
        expires_in=state.expires_in,
        channel=state.channel,
        payment_status=payment.status.value,
    )


def owned_payment(payments: PaymentRepository, user_id: str, payment_id: str) -> Payment:
    """The payment if it is `user_id`'s; someone else's is "not found", exactly like one that
    does not exist."""
    payment = payments.get(payment_id)
    if payment is None or payment.user_id != user_id:
        raise PaymentNotFound()
    return payment
