"""The digest that binds a pending payment to its code challenge: over user, payment id,
amount, currency and recipient, kept in the challenge (VerificationsTable) when the code is
sent and re-checked against the payment (PaymentsTable) when the code is accepted, so a
change of either in between fails the payment."""

from __future__ import annotations

import hashlib
import json

from phoneverify.domain.models import Payment, PendingVerification

BINDING_VERSION = "v1"


def binding_digest(
    user_id: str, payment_id: str, amount: str, currency: str, recipient: str
) -> str:
    """SHA-256 over a canonical encoding (a JSON array: unambiguous, escaped) of what the
    person is asked to authorise. `amount` is the quantised decimal string ("250.00")."""
    canonical = json.dumps(
        [BINDING_VERSION, user_id, payment_id, amount, currency, recipient],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return f"{BINDING_VERSION}:{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def payment_digest(payment: Payment) -> str:
    return binding_digest(
        payment.user_id, payment.payment_id, payment.amount, payment.currency, payment.recipient
    )


def bound_digest(record: PendingVerification) -> bytes:
    """The digest stored with the challenge (bytes: compare_digest refuses non-ASCII str)."""
    return str(record.data.get("binding") or "").encode("utf-8")
