"""A payment's step-up by passkey (docs/factors.md#passkeys): the WebAuthn challenge is the
payment's own (domain/passkeys.py `payment_challenge`: SHA-256 over a nonce and the payment's
id, amount, currency and recipient), so the authenticator's signature authorises that payment
and no other.

`options` draws a nonce, keeps it with the payment as the challenge's subject (one use, the
ceremony's timeout) and answers request options whose challenge is derived from the payment
as stored now. `verify` takes the payment as the confirm read it, spends the challenge the
browser signed, and lets the library check the signature against the challenge derived again
from that payment: a signature made for another payment, or for this one before its amount,
currency or recipient changed, signed another challenge and is refused. The confirm then
completes the payment by its lifecycle's conditional writes (domain/lifecycle/payment.py), as
a right code would."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from phoneverify.domain.models import Payment, PaymentStatus, RequestOrigin
from phoneverify.domain.passkeys import (
    CHALLENGE_BYTES,
    CeremonyPurpose,
    Passkey,
    PasskeyChallenge,
    PasskeyRejected,
    payment_challenge,
)
from phoneverify.domain.payment_errors import PaymentNotFound, PaymentNotPending
from phoneverify.flows.engine.passkey_assertion import PasskeyAssertions


class PaymentLookup(Protocol):
    def get(self, payment_id: str) -> Payment | None: ...


def bound_challenge(payment: Payment, nonce: bytes) -> bytes:
    """The challenge a signature for `payment` (as it is now) answers."""
    return payment_challenge(
        nonce=nonce,
        payment_id=payment.payment_id,
        amount=payment.amount,
        currency=payment.currency,
        recipient=payment.recipient,
    )


class PaymentPasskey:
    def __init__(
        self,
        *,
        assertions: PasskeyAssertions,
        payments: PaymentLookup | None = None,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._assertions = assertions
        self._payments = payments
        self._random = random_bytes

    def options_for(self, user_id: str, payment_id: str) -> dict[str, Any]:
        """POST /payments/passkey/options: the payer's pending payment, read now."""
        assert self._payments is not None, "built with the payments"
        payment = self._payments.get(payment_id)
        if payment is None:
            raise PaymentNotFound()
        return self.options(user_id, payment)

    def options(self, user_id: str, payment: Payment) -> dict[str, Any]:
        """Request options bound to `payment` (the payer's, still pending)."""
        self._payer_pending(user_id, payment)
        nonce = self._random(CHALLENGE_BYTES)
        return self._assertions.options(
            user_id,
            CeremonyPurpose.PAYMENT,
            payment.payment_id,
            challenge=bound_challenge(payment, nonce),
            nonce=nonce,
        )

    def verify(
        self,
        user_id: str,
        payment: Payment,
        credential: Mapping[str, Any],
        origin: RequestOrigin,
    ) -> Passkey:
        """The payer's passkey that signed this payment, as stored now; else PasskeyRejected."""
        self._payer_pending(user_id, payment)

        def expected(spent: PasskeyChallenge) -> bytes:
            if spent.nonce is None:  # a payment's challenge always keeps its nonce
                raise PasskeyRejected()
            return bound_challenge(payment, spent.nonce)

        return self._assertions.verify(
            user_id,
            CeremonyPurpose.PAYMENT,
            payment.payment_id,
            credential,
            origin,
            expected=expected,
        )

    @staticmethod
    def _payer_pending(user_id: str, payment: Payment) -> None:
        if payment.user_id != user_id:
            raise PaymentNotFound()
        if payment.status is not PaymentStatus.PENDING:
            raise PaymentNotPending(payment.status.value)
