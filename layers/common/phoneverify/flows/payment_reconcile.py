"""The payment reconciler (docs/payments.md#reconciliation): settles the payments a function
left half-done, run on a schedule.

A confirm or an exempt payment that dies (a crash, a timeout, an unreachable processor)
between two writes leaves its payment *unsettled* (PaymentRepository.unsettled, a sparse
index): `processing` (charged or not, nobody recorded which), or `pending` after a
confirmation claimed it (its code may have been accepted). Past a grace period, longer than
any function runs, each is settled:

- processing: the processor is asked by payment id (PaymentProcessor.settle). Charged: the
  payment completes with that transaction (the ledger already holds it, once). Not charged:
  the id is voided at the processor, the payment fails ("not_charged") and a payment made
  without a code gives its count back.
- pending, its code accepted (the challenge is verified, a durable record in the verification
  store): it never reached the processor; it fails ("abandoned").
- pending, no code accepted: it is no longer unsettled (it may still be confirmed), or it
  expires when its code has.

Every write is the payment lifecycle's conditional one: a confirmation that comes back to
life, or a second reconciler, finds the payment moved and changes nothing (the reconciler's
pending writes also need no live claim and nobody to have claimed since it read). Each
settlement is audited; the outcome is counted, and the age of the oldest payment left
unsettled is reported for its alarm.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from enum import StrEnum

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import DomainError, StorageUnavailable, VerificationNotFound
from phoneverify.domain.models import FlowKind, FlowStatus, Payment, PaymentStatus, RequestOrigin
from phoneverify.flows.engine.any_flow import AnyFlow
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.ports.payments import (
    ExemptPayments,
    PaymentProcessor,
    PaymentRepository,
    Settlement,
)

logger = logging.getLogger(__name__)

RECONCILER_ORIGIN = RequestOrigin(source_ip="-", user_agent="payments-reconcile")
# Longer than any function that writes a payment runs (15 s), and than a confirmation's claim.
DEFAULT_GRACE_SECS = 300
DEFAULT_BATCH = 100
METRIC_PREFIX = "PaymentsReconciled_"
METRIC_OLDEST_UNSETTLED = "PaymentsOldestUnsettledSeconds"


class Reconciled(StrEnum):
    """What the reconciler did with one unsettled payment (metric PaymentsReconciled_<it>)."""

    COMPLETED = "completed"  # processing, charged: completed
    FAILED = "failed"  # processing, never charged: voided and failed, count given back
    ABANDONED = "abandoned"  # pending, code accepted, never processed: failed
    AWAITING_CODE = "awaiting_code"  # pending, no code accepted: may still be confirmed
    EXPIRED = "expired"  # pending, no code accepted, and its code's time is over
    RACED = "raced"  # another writer settled or claimed it first: nothing changed
    RETRY = "retry"  # the processor or the storage could not answer: the next run


@dataclass(frozen=True)
class ReconcileReport:
    outcomes: dict[str, int] = field(default_factory=dict)
    oldest_unsettled_secs: float = 0.0  # of the payments still unsettled after the run


class PaymentReconciler:
    def __init__(
        self,
        *,
        payments: PaymentRepository,
        processor: PaymentProcessor,
        exemptions: ExemptPayments,
        flows: AnyFlow,
        audit: FlowAudit,
        clock: Clock,
        grace_secs: float = DEFAULT_GRACE_SECS,
        batch: int = DEFAULT_BATCH,
    ) -> None:
        self._payments = payments
        self._processor = processor
        self._exemptions = exemptions
        self._flows = flows
        self._audit = audit
        self._clock = clock
        self._grace = grace_secs
        self._batch = batch

    def run(self) -> ReconcileReport:
        """Settle every payment unsettled for longer than the grace period (up to `batch`
        a run, oldest first), then report the oldest left."""
        outcomes: dict[str, int] = {}
        now = self._clock.now()
        for payment_id in self._payments.unsettled(now - self._grace, self._batch):
            outcome = self.settle(payment_id)
            outcomes[outcome.value] = outcomes.get(outcome.value, 0) + 1
        return ReconcileReport(outcomes, self.oldest_unsettled_secs())

    def oldest_unsettled_secs(self) -> float:
        """How long the oldest unsettled payment has been so (0 when there is none)."""
        now = self._clock.now()
        oldest = self._payments.unsettled(now + 1, 1)
        payment = self._payments.get(oldest[0]) if oldest else None
        if payment is None or payment.unsettled_since is None:
            return 0.0
        return max(0.0, now - payment.unsettled_since)

    def settle(self, payment_id: str) -> Reconciled:
        """Settle one payment, read again first (the index lags the table)."""
        try:
            payment = self._payments.get(payment_id)
            if payment is None or payment.unsettled_since is None:
                return Reconciled.RACED
            if payment.unsettled_since >= self._clock.now() - self._grace:
                return Reconciled.RACED  # claimed again since the index said: not yet due
            if payment.status == PaymentStatus.PROCESSING:
                outcome = self._settle_processing(payment)
            elif payment.status == PaymentStatus.PENDING:
                outcome = self._settle_pending(payment, payment.unsettled_since)
            else:  # ended without its mark dropped: cannot happen by the rules
                return Reconciled.RACED
        except StorageUnavailable:
            logger.warning("payment not reconciled now", extra={"payment_id": payment_id})
            return Reconciled.RETRY
        if outcome is not Reconciled.RACED:
            self._audit.record(
                VerificationEventType.PAYMENT_RECONCILED,
                payment.user_id,
                RECONCILER_ORIGIN,
                kind=FlowKind.PAYMENT,
                payment_id=payment_id,
                outcome=outcome.value,
                was=payment.status.value,
            )
        return outcome

    def _settle_processing(self, payment: Payment) -> Reconciled:
        settled = self._processor.settle(payment)
        now = self._clock.now()
        if settled.outcome is Settlement.CHARGED:
            assert settled.transaction_id is not None
            done = self._payments.complete(payment.payment_id, settled.transaction_id, now)
            return Reconciled.COMPLETED if done else Reconciled.RACED
        if not self._payments.fail(
            payment.payment_id, PaymentStatus.PROCESSING, "not_charged", now
        ):
            return Reconciled.RACED
        if payment.exemption is not None:
            self._exemptions.give_back(payment.exemption)
        return Reconciled.FAILED

    def _settle_pending(self, payment: Payment, seen: float) -> Reconciled:
        now = self._clock.now()
        if self._code_accepted(payment):
            done = self._payments.abandon(payment.payment_id, seen, now)
            return Reconciled.ABANDONED if done else Reconciled.RACED
        if payment.expires_at is None or now >= payment.expires_at:
            done = self._payments.expire(payment.payment_id, now)
            return Reconciled.EXPIRED if done else Reconciled.RACED
        done = self._payments.settle_unclaimed(payment.payment_id, seen, now)
        return Reconciled.AWAITING_CODE if done else Reconciled.RACED

    def _code_accepted(self, payment: Payment) -> bool:
        """Whether the payment's challenge accepted its code: the verified flow is the
        durable record a confirmation writes before `processing`."""
        if payment.flow_id is None:
            return False
        try:
            state = self._flows.status(payment.flow_id)
        except VerificationNotFound:
            return False  # past its retention: long expired, no code can be accepted now
        except DomainError:
            raise StorageUnavailable() from None
        return state.status == FlowStatus.VERIFIED.value
