"""What the payment flow needs: the payments' store, exchange rates, exempt (code-free) payments,
the processor that charges, and idempotent requests (which keep the flow's answers)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Protocol

from phoneverify.domain.models import (
    Channel,
    Exemption,
    Payment,
    PaymentStatus,
    StepUpReason,
)
from phoneverify.domain.rates import RateTable


@dataclass(frozen=True)
class PaymentWrite:
    """FlowWrite's twin for a payment: `done`, and the payment as it was before the write."""

    done: bool
    payment: Payment | None


@dataclass(frozen=True)
class PaymentCompleted:
    payment_id: str
    transaction_id: str
    amount: str
    currency: str


@dataclass(frozen=True)
class PaymentVerificationRequired:
    """A code was sent; the challenge's flow id stays on the server with the payment."""

    payment_id: str
    amount: str
    currency: str
    reason: StepUpReason
    timeout_secs: int
    code_length: int
    phone_hint: str
    resend_after_secs: int
    channel: Channel = Channel.SMS
    channels: tuple[Channel, ...] = (Channel.SMS,)


# What POST /payments/initiate answers, and what IdempotentRequests keeps for a repeat.
PaymentAnswer = PaymentCompleted | PaymentVerificationRequired


class PaymentRepository(Protocol):
    """Payments. Every state change is a conditional write: the `bool` methods answer False
    when their condition did not hold, and change nothing then."""

    def create(self, payment: Payment) -> None: ...

    def get(self, payment_id: str) -> Payment | None: ...

    def claim(
        self, payment_id: str, user_id: str, token: str, now: float, lease_secs: int
    ) -> PaymentWrite:
        """Hold the right to confirm `user_id`'s pending, unexpired payment for `lease_secs`,
        unless another confirmation holds it: one code check per payment at a time. Answers
        with the payment as it was, so no read comes before it (a refusal's tells why)."""
        ...

    def release(self, payment_id: str, token: str) -> bool:
        """Give up the claim `token` holds."""
        ...

    def begin_processing(self, payment: Payment, token: str, now: float) -> bool:
        """pending -> processing, for the holder of `token`, only while user, amount,
        currency and recipient are still those of `payment` (the ones the code was sent for)."""
        ...

    def complete(self, payment_id: str, transaction_id: str, now: float) -> bool:
        """processing -> completed."""
        ...

    def fail(self, payment_id: str, from_status: PaymentStatus, reason: str, now: float) -> bool:
        """`from_status` -> failed."""
        ...

    def expire(self, payment_id: str, now: float) -> bool:
        """pending -> expired."""
        ...

    def cancel(self, payment_id: str, now: float) -> bool:
        """pending -> cancelled; False when the payment was no longer pending."""
        ...

    def extend(self, payment_id: str, expires_at: float, now: float) -> bool:
        """Move the expiry of a pending, unexpired payment (after a resend)."""
        ...

    def abandon(self, payment_id: str, unsettled_since: float, now: float) -> bool:
        """pending -> failed ("abandoned"): its code was accepted by a confirmation that died
        before `processing`. Only while no confirmation holds a live claim and the payment is
        unsettled since `unsettled_since` (as the caller read it: nobody claimed it since)."""
        ...

    def settle_unclaimed(self, payment_id: str, unsettled_since: float, now: float) -> bool:
        """A pending payment no longer unsettled (no code was accepted: it awaits one again),
        under abandon's conditions."""
        ...

    def unsettled(self, since_before: float, limit: int) -> list[str]:
        """Up to `limit` ids of the payments unsettled since before `since_before`, oldest
        first (a sparse index: the caller reads each again before it acts)."""
        ...


class RateSource(Protocol):
    """The operators' exchange rates to the reference currency (domain/rates.py)."""

    def current(self) -> RateTable:
        """The table as last read (cached); never raises: a table that cannot be read or
        used is an empty one (every currency but the reference then asks for a code)."""
        ...


class ExemptPayments(Protocol):
    """Per account, the payments completed without a code since its last verified payment:
    how many (across currencies) and their sum converted to the reference currency, in its
    minor units (PSD2 RTS Art. 16)."""

    def reserve_and_create(
        self,
        payment: Payment,
        amount_minor: int,
        *,
        sum_currency: str,
        cumulative_limit_minor: int,
        max_payments: int,
        now: float,
    ) -> Exemption | StepUpReason:
        """Count `payment` (`amount_minor`: its amount converted to `sum_currency`, the
        reference currency, in that currency's minor units) as one more without a code and
        write it (PaymentRepository.create), all or nothing, while fewer than `max_payments`
        are counted, the sum with it stays below `cumulative_limit_minor`, and the account is
        not locked (AccountLock): one conditional write, so concurrent payments, in any
        currencies, can never pass the limits together, and nothing is counted for a payment
        not written.

        Otherwise nothing is written, and the count answers why a code is needed
        (CUMULATIVE_AMOUNT before PAYMENT_COUNT when both hold): it answers before the lock,
        which the code's send then meets. Raises AccountLocked (with the lock's Retry-After)
        when only the lock refuses, ConditionFailed when the payment id is taken, and
        StorageUnavailable."""
        ...

    def give_back(self, exemption: Exemption) -> None:
        """Uncount a counted payment that did not go through (declined), unless it was given
        back already or a verified payment started the count over since. Best effort: never
        raises for a storage failure (a count not given back only asks for a code sooner)."""
        ...

    def reset(self, user_id: str) -> None:
        """A payment was verified with a code: the count and the sums start over. Best
        effort, and may be written at the end of the request: never raises for a storage
        failure (the payment is completed regardless; a count left behind only asks for a
        code sooner)."""
        ...


class Settlement(StrEnum):
    """What a processor knows of a charge by its idempotency key, the payment id."""

    CHARGED = "charged"  # the money moved; the charge's transaction id comes with it
    NOT_CHARGED = "not_charged"  # it did not, and never will: the key is voided


@dataclass(frozen=True)
class ProcessorSettlement:
    outcome: Settlement
    transaction_id: str | None = None  # CHARGED's


class PaymentProcessor(Protocol):
    """Moves the money (Stripe and the like plug in here)."""

    def charge(self, payment: Payment) -> str:
        """Execute `payment` once and return the processor's transaction id. Charging the
        same payment id again moves no money and returns the first transaction id.

        Raises PaymentDeclined when the processor refuses the payment for good (a payment
        id voided by `settle` included).
        """
        ...

    def settle(self, payment: Payment) -> ProcessorSettlement:
        """Settle the charge of `payment` by its payment id (the reconciler's question, for a
        payment whose charge's outcome nobody recorded): CHARGED with the first transaction
        id, or NOT_CHARGED, after which the id is voided, so a charge of it still in flight
        is declined and can never move money later (a Stripe PaymentIntent cancelled). One
        outcome per payment id, whoever asks first: a charge and a settlement never both win.

        Raises StorageUnavailable when the processor cannot say (unknown: ask again later).
        """
        ...


class IdempotentRequests(Protocol):
    def run(
        self,
        scope: str,
        key: str,
        request: Mapping[str, Any],
        compute: Callable[[], PaymentAnswer],
    ) -> PaymentAnswer:
        """The first answer computed for (`scope`, `key`); `compute` runs at most once per
        pair while its answer is kept. A failed `compute` keeps nothing. How an answer is
        kept (its stored format) is the adapter's.

        Raises IdempotencyKeyReused when `request` differs from the first one, and
        IdempotencyKeyInUse while the first is still running.
        """
        ...
