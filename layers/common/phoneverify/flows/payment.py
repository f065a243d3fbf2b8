"""Payment step-up: below the threshold a payment is processed at once; at or above it, a
code goes to the account's phone and the payment waits for it.

Below the threshold, a payment still needs a code when the payments completed without one
since the account's last verified payment would, with it, reach the cumulative limit, or
number more than the consecutive payments allowed (PSD2 RTS Art. 16): slicing an amount into
small payments does not avoid the code. The sum is one, in the reference currency, whatever
the payments' currencies (the operators' rate table, domain/rates.py): slicing across
currencies does not avoid it either, and a currency without a rate always asks for a code.
Those payments are counted per account, and written, by one conditional write that a locked
account cannot pass (ExemptPayments.reserve_and_create); a verified payment starts the count
over.

A pending payment and its code challenge are bound by a digest (payment_binding.py): a change
of either in between fails the payment. Every status change is a conditional write by the
payment lifecycle's rules (domain/lifecycle/payment.py), so concurrent confirmations process a
payment once. The payer's reads of a payment are payment_status.py; how an Idempotency-Key's
answer is kept is the IdempotentRequests adapter's.
"""

from __future__ import annotations

import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import replace

from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    NoPendingVerification,
    NotAuthenticated,
    PhoneSuperseded,
    TooManyAttempts,
    VerificationExpired,
)
from phoneverify.domain.models import (
    Channel,
    Exemption,
    Payment,
    PaymentStatus,
    RequestOrigin,
    StepUpReason,
)
from phoneverify.domain.money import ExemptionLimits, Money, PaymentOrder, Thresholds
from phoneverify.domain.payment_errors import (
    ConfirmationInProgress,
    PaymentDeclined,
    PaymentNotFound,
    PaymentNotPending,
    PhoneRequiredForPayment,
)
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.policy import Resent
from phoneverify.flows.payment_binding import bound_digest, payment_digest
from phoneverify.flows.payment_pending import RESTART_HINT as RESTART_HINT
from phoneverify.flows.payment_pending import PendingPayments
from phoneverify.flows.payment_status import owned_payment
from phoneverify.ports.accounts import UserLookup
from phoneverify.ports.payments import (
    ExemptPayments,
    IdempotentRequests,
    PaymentAnswer,
    PaymentCompleted,
    PaymentProcessor,
    PaymentRepository,
    PaymentVerificationRequired,
    RateSource,
)

logger = logging.getLogger(__name__)

# The payer's passkey signature checked over the payment as the confirmation claimed it
# (PaymentPasskey.verify, with the credential and origin bound): PasskeyRejected when not.
PasskeyCheck = Callable[[Payment], object]

TOO_MANY_ATTEMPTS = "Too many attempts. Initiate a new payment."
PAYMENT_ID_BYTES = 16  # 128 random bits
# A confirmation's claim on its payment outlives the function's 15 s timeout, so a claim is
# only ever taken over from an invocation that is gone.
CONFIRM_LEASE_SECS = 30


def new_payment_id() -> str:
    return "pay_" + secrets.token_hex(PAYMENT_ID_BYTES)


class PaymentFlow(PendingPayments):
    def __init__(
        self,
        *,
        thresholds: Thresholds,
        exemption_limits: ExemptionLimits,
        users: UserLookup,
        payments: PaymentRepository,
        exemptions: ExemptPayments,
        processor: PaymentProcessor,
        challenges: Challenges,
        idempotency: IdempotentRequests,
        clock: Clock,
        rates: RateSource,
    ) -> None:
        self._rates = rates
        self._thresholds = thresholds
        self._exemption_limits = exemption_limits
        self._exemptions = exemptions
        self._users = users
        self._payments = payments
        self._processor = processor
        self._challenges = challenges
        self._idempotency = idempotency
        self._clock = clock

    # -- initiate --------------------------------------------------------------------------
    def initiate(
        self,
        user_id: str,
        order: PaymentOrder,
        origin: RequestOrigin,
        idempotency_key: str | None = None,
    ) -> PaymentAnswer:
        """Process the payment, or send a code and keep it pending.

        With an Idempotency-Key, a repeat of the same request by the same user answers what
        the first one did and creates nothing; the same key with another request is refused.
        """
        if idempotency_key is None:
            return self._initiate(user_id, order, origin)
        return self._idempotency.run(
            user_id,
            idempotency_key,
            order.canonical(),
            lambda: self._initiate(user_id, order, origin),
        )

    def _initiate(self, user_id: str, order: PaymentOrder, origin: RequestOrigin) -> PaymentAnswer:
        user = self._users.get(user_id)
        if user is None:  # a valid token of an account that no longer exists
            raise NotAuthenticated()
        money = order.money
        payment = Payment(
            payment_id=new_payment_id(),
            user_id=user_id,
            amount=money.text,
            currency=money.currency,
            recipient=order.recipient,
            description=order.description,
            status=PaymentStatus.PROCESSING,
            created_at=self._clock.now(),
            unsettled_since=self._clock.now(),  # written processing: the reconciler watches
        )
        reason = StepUpReason.AMOUNT
        if not self._thresholds.requires_verification(money):
            exempt = self._create_exempt(payment, money)
            if isinstance(exempt, Exemption):
                return self._process_exempt(payment, exempt)
            reason = exempt
            # What a security team watches for: slicing, or a run of small payments.
            logger.info(
                "payment below the threshold needs a code",
                extra={"payment_id": payment.payment_id, "reason": reason.value},
            )
        if not user.phone_number:
            raise PhoneRequiredForPayment()
        # The code is sent first (Challenges.open): if Telnyx fails, nothing is written.
        challenge = self._challenges.open(
            user_id,
            user.phone_number,
            origin,
            data={"payment_id": payment.payment_id, "binding": payment_digest(payment)},
            channel=order.channel,
            phone_generation=user.phone_generation,
        )
        pending = replace(
            payment,
            status=PaymentStatus.PENDING,
            unsettled_since=None,  # until a confirmation claims it
            flow_id=challenge.flow_id,
            expires_at=self._clock.now() + challenge.timeout_secs,
        )
        self._payments.create(pending)
        return PaymentVerificationRequired(
            payment_id=pending.payment_id,
            amount=pending.amount,
            currency=pending.currency,
            reason=reason,
            timeout_secs=challenge.timeout_secs,
            code_length=challenge.code_length,
            phone_hint=challenge.phone_hint,
            resend_after_secs=challenge.resend_after_secs,
            channel=challenge.channel,
            channels=challenge.channels,
        )

    def _create_exempt(self, payment: Payment, money: Money) -> Exemption | StepUpReason:
        """Count a payment below the threshold as one more without a code and write it (only
        while the account is not locked: AccountLocked), or say why it needs a code.

        The sum is kept in the reference currency: the payment is converted at the rate read
        for this request (the reference currency itself needs no table, and no read), rounded
        up. A currency without a rate is never exempt; a payment that alone reaches the
        cumulative limit is refused unwritten."""
        limits = self._exemption_limits
        if money.currency == limits.reference:
            converted: int | None = money.minor
        else:
            converted = self._rates.current().to_reference_minor(money)
        if converted is None:
            return StepUpReason.CURRENCY_WITHOUT_RATE
        limit_minor = limits.cumulative_limit_minor
        if converted >= limit_minor:
            return StepUpReason.CUMULATIVE_AMOUNT
        return self._exemptions.reserve_and_create(
            payment,
            converted,
            sum_currency=limits.reference,
            cumulative_limit_minor=limit_minor,
            max_payments=limits.max_payments,
            now=self._clock.now(),
        )

    def _process_exempt(self, payment: Payment, exempt: Exemption) -> PaymentCompleted:
        """Process a payment counted as exempt from a code (and written with its count);
        give the count back when the processor declines it."""
        try:
            return self._process(payment)
        except PaymentDeclined:
            self._exemptions.give_back(exempt)
            raise

    # -- confirm ---------------------------------------------------------------------------
    def confirm(
        self,
        user_id: str,
        payment_id: str,
        code: str | None,
        origin: RequestOrigin,
        *,
        passkey: PasskeyCheck | None = None,
    ) -> PaymentCompleted:
        """Check the code (or `passkey`: the payer's passkey signature over this payment as
        stored now, flows/payment_passkey.py), re-check the binding, then process the payment
        exactly once.

        One confirmation per payment runs at a time (a claim on the payment): Telnyx accepts
        a code once, so a concurrent second check of the right code would count as a wrong
        one. The others get ConfirmationInProgress and, once the first is done, "Payment
        already completed".
        """
        token = secrets.token_hex(16)
        # The claim answers with the payment as it was: no read before it.
        claimed = self._payments.claim(
            payment_id, user_id, token, self._clock.now(), CONFIRM_LEASE_SECS
        )
        payment = claimed.payment
        if payment is None or payment.user_id != user_id:
            raise PaymentNotFound()  # someone else's is "not found", like one that is not
        if not claimed.done:
            self._ensure_pending(payment)  # raises why it is no longer pending
            raise ConfirmationInProgress()
        try:
            if passkey is not None:
                self._verify_by_passkey(payment, token, passkey, origin)
            else:
                self._verify(payment, token, code or "", origin)
        except BaseException:
            self._payments.release(payment_id, token)
            raise
        completed = self._process(payment)
        # The code was accepted for this payment: the payments without one count from zero.
        self._exemptions.reset(user_id)
        return completed

    def _verify(self, payment: Payment, token: str, code: str, origin: RequestOrigin) -> None:
        """Consume the code and move the payment to `processing`, or raise why not."""
        assert payment.flow_id is not None
        try:
            record = self._challenges.check(payment.flow_id, code, origin)
        except VerificationExpired:
            self._expire(payment)
        except TooManyAttempts as refused:
            self._fail_if_locked(payment, refused)
            raise
        except PhoneSuperseded:
            # The code went to a number that is no longer the account's: the payment ends.
            self._payments.cancel(payment.payment_id, self._clock.now())
            raise
        except NoPendingVerification:
            self._raise_if_no_longer_pending(payment.payment_id)
            raise
        if not hmac.compare_digest(bound_digest(record), payment_digest(payment).encode()):
            self._refuse_changed(payment, "binding digest mismatch")
        if not self._payments.begin_processing(payment, token, self._clock.now()):
            self._raise_if_no_longer_pending(payment.payment_id)
            # Still pending and ours, so user, amount, currency or recipient changed.
            self._refuse_changed(payment, "payment changed during confirmation")

    def _verify_by_passkey(
        self, payment: Payment, token: str, passkey: PasskeyCheck, origin: RequestOrigin
    ) -> None:
        """The signature in place of the code (PasskeyRejected else), then `processing` only
        while the payment is unchanged; its code, no longer needed, is cancelled."""
        self._ensure_pending(payment)
        passkey(payment)
        if not self._payments.begin_processing(payment, token, self._clock.now()):
            self._raise_if_no_longer_pending(payment.payment_id)
            self._refuse_changed(payment, "payment changed during confirmation")
        assert payment.flow_id is not None
        self._challenges.cancel(payment.flow_id, origin)

    # -- resend ----------------------------------------------------------------------------
    def resend(
        self,
        user_id: str,
        payment_id: str,
        origin: RequestOrigin,
        channel: Channel | None = None,
    ) -> Resent:
        payment = self._pending_payment(user_id, payment_id)
        assert payment.flow_id is not None
        try:
            resent = self._challenges.resend(payment.flow_id, origin, channel)
        except TooManyAttempts as refused:
            self._fail_if_locked(payment, refused)
            raise
        except NoPendingVerification:
            self._raise_if_no_longer_pending(payment_id)
            raise
        now = self._clock.now()
        if not self._payments.extend(payment_id, now + resent.timeout_secs, now):
            self._raise_if_no_longer_pending(payment_id)
            self._expire(payment)  # it expired while the new code was on its way
        return resent

    # -- cancel ----------------------------------------------------------------------------
    def cancel(self, user_id: str, payment_id: str, origin: RequestOrigin) -> bool:
        """End the caller's pending payment and its code; False when nothing was pending.

        The payment is ended first: a confirmation racing it can then no longer move it to
        processing, and one that already did makes this answer False.
        """
        payment = owned_payment(self._payments, user_id, payment_id)
        if payment.status != PaymentStatus.PENDING or payment.flow_id is None:
            return False
        if not self._payments.cancel(payment_id, self._clock.now()):
            return False
        self._challenges.cancel(payment.flow_id, origin)
        return True

    # -- helpers ---------------------------------------------------------------------------
    def _pending_payment(self, user_id: str, payment_id: str) -> Payment:
        """The caller's pending payment with an unexpired code, or the error that says why not.

        Someone else's payment is "not found", exactly like one that does not exist.
        """
        return self._ensure_pending(owned_payment(self._payments, user_id, payment_id))

    def _fail_if_locked(self, payment: Payment, refused: TooManyAttempts) -> None:
        """After "too many attempts", fail the payment if its challenge is locked.

        A locked challenge can never be verified (lock and accept are both conditional on
        `pending`), so failing the payment cannot undo a concurrent right code.
        TooManyAttempts seen while another request's right code is being accepted leaves the
        payment alone.
        """
        if refused.locked:
            self._payments.fail(
                payment.payment_id, PaymentStatus.PENDING, "too_many_attempts", self._clock.now()
            )

    def _process(self, payment: Payment) -> PaymentCompleted:
        """Charge a payment that is `processing`, then mark it completed.

        If the processor cannot be reached, the payment stays `processing`: the charge is
        idempotent by payment id, so it can be retried without paying twice.
        """
        try:
            transaction_id = self._processor.charge(payment)
        except PaymentDeclined:
            self._payments.fail(
                payment.payment_id, PaymentStatus.PROCESSING, "declined", self._clock.now()
            )
            raise
        if not self._payments.complete(payment.payment_id, transaction_id, self._clock.now()):
            # Only a retry of this same charge could have completed it; anything else says why.
            current = self._payments.get(payment.payment_id)
            if current is None:
                raise PaymentNotFound()
            if current.transaction_id != transaction_id:
                raise PaymentNotPending(current.status.value)
        return PaymentCompleted(
            payment.payment_id, transaction_id, payment.amount, payment.currency
        )
