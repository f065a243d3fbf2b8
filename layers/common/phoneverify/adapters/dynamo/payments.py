"""Payments in DynamoDB (PaymentsTable): one item per payment, every status change one
conditional write. The conditions are built from the payment lifecycle's rules
(phoneverify.domain.lifecycle.payment): a transition's from-statuses become the `#status`
test and each of its guards one clause; ClientError codes become domain outcomes through
`dynamodb_errors`.

Exempt (code-free) payments are exempt_payments.py; the local processor ledger.py;
Idempotency-Key handling idempotency.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.creation import put_new_once
from phoneverify.adapters.dynamo.toolkit import Table, read_item, status_in
from phoneverify.domain.lifecycle.payment import (
    BEGIN_PROCESSING,
    CANCEL,
    CLAIM,
    COMPLETE,
    CREATION_IDENTITY,
    EXPIRE,
    EXTEND,
    FAIL,
    RELEASE,
    PaymentAsk,
    PaymentGuard,
    PaymentTransition,
    status_allowed,
)
from phoneverify.domain.models import Payment, PaymentStatus
from phoneverify.ports.conditions import ConditionFailed
from phoneverify.ports.payments import PaymentWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

# Every attribute an expression names goes through ExpressionAttributeNames: several
# (status, user, amount...) are DynamoDB reserved words or may become one.
_NAMES = (
    "payment_id",
    "status",
    "user_id",
    "amount",
    "currency",
    "recipient",
    "expires_at",
    "updated_at",
    "transaction_id",
    "failure_reason",
    "processing_at",
    "completed_at",
    "confirm_token",
    "confirm_until",
)


def _details(ask: PaymentAsk) -> dict[str, Any]:
    assert ask.details is not None
    payment = ask.details
    return {
        ":user": payment.user_id,
        ":amount": payment.amount,
        ":currency": payment.currency,
        ":recipient": payment.recipient,
    }


# Each guard of the lifecycle in DynamoDB's words, and the values its clause reads. A claim
# is the item's `confirm_token` and `confirm_until`.
GUARD_CLAUSES: dict[PaymentGuard, tuple[str, Callable[[PaymentAsk], dict[str, Any]]]] = {
    PaymentGuard.OWNER: ("#user_id = :user", lambda ask: {":user": ask.user_id}),
    PaymentGuard.UNEXPIRED: ("#expires_at > :now", lambda ask: {":now": ask.now}),
    PaymentGuard.CLAIM_FREE: (
        "(attribute_not_exists(#confirm_until) OR #confirm_until <= :now)",
        lambda ask: {":now": ask.now},
    ),
    PaymentGuard.CLAIM_HELD: ("#confirm_token = :token", lambda ask: {":token": ask.token}),
    PaymentGuard.UNCHANGED: (
        "#user_id = :user AND #amount = :amount AND #currency = :currency "
        "AND #recipient = :recipient",
        _details,
    ),
    PaymentGuard.NAMED_FROM: ("", lambda ask: {}),  # the status test names the caller's
}


def condition(transition: PaymentTransition, ask: PaymentAsk) -> tuple[str, dict[str, Any]] | None:
    """The ConditionExpression of `transition` for `ask`, and the values it reads; None when
    no payment could pass it (a caller naming a status the transition does not move from)."""
    clauses: list[str] = []
    values: dict[str, Any] = {}
    if transition.from_statuses:
        statuses = status_allowed(transition, ask)
        if not statuses:
            return None
        clause, values = status_in(statuses)
        clauses.append(clause)
    for guard in transition.guards:
        clause, reads = GUARD_CLAUSES[guard]
        if clause:
            clauses.append(clause)
            values.update(reads(ask))
    return " AND ".join(clauses), values


def payment_item(payment: Payment) -> dict[str, Any]:
    """The PaymentsTable item of `payment`, as plain values (None values are left out)."""
    return {
        "payment_id": payment.payment_id,
        "user_id": payment.user_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "recipient": payment.recipient,
        "status": payment.status.value,
        "requires_verification": payment.requires_verification,
        "created_at": payment.created_at,
        "updated_at": payment.created_at,
        "description": payment.description or None,
        "flow_id": payment.flow_id,
        "expires_at": payment.expires_at,
    }


def payment_of(row: Mapping[str, Any]) -> Payment:
    """The Payment a PaymentsTable item holds."""

    def text(name: str) -> str | None:
        value = row.get(name)
        return None if value is None else str(value)

    def number(name: str) -> float | None:
        value = row.get(name)
        return None if value is None else float(value)

    return Payment(
        payment_id=row["payment_id"],
        user_id=row["user_id"],
        amount=row["amount"],
        currency=row["currency"],
        recipient=row["recipient"],
        description=text("description"),
        status=PaymentStatus(row["status"]),
        created_at=float(row["created_at"]),
        flow_id=text("flow_id"),
        expires_at=number("expires_at"),
        transaction_id=text("transaction_id"),
    )


class DynamoPaymentRepository:
    """One item per payment under `payment_id`. Payments are records of money: no TTL."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._items = Table(client, table, {f"#{name}": name for name in _NAMES})

    def create(self, payment: Payment) -> None:
        item = payment_item(payment)
        put_new_once(self._client, self._table, item, "payment_id", CREATION_IDENTITY)

    def get(self, payment_id: str) -> Payment | None:
        row = read_item(self._client, self._table, {"payment_id": payment_id})
        return None if row is None else payment_of(row)

    def claim(
        self, payment_id: str, user_id: str, token: str, now: float, lease_secs: int
    ) -> PaymentWrite:
        written = condition(CLAIM, PaymentAsk(now, user_id=user_id))
        assert written is not None
        test, values = written
        try:
            old = self._items.update(
                {"payment_id": payment_id},
                "SET #confirm_token = :token, #confirm_until = :until",
                test,
                {**values, ":token": token, ":until": now + lease_secs},
                returns="ALL_OLD",
                old_on_failure=True,
            )
        except ConditionFailed as refused:
            return PaymentWrite(False, payment_of(refused.item) if refused.item else None)
        return PaymentWrite(True, payment_of(old))

    def _write(
        self,
        payment_id: str,
        transition: PaymentTransition,
        ask: PaymentAsk,
        update: str,
        values: Mapping[str, Any],
    ) -> bool:
        """`transition` of the payment if it exists and the rule's condition holds; `update`
        sets the transition's to-status as `:to`."""
        written = condition(transition, ask)
        if written is None:
            return False
        test, tested = written
        if transition.to_status is not None:
            values = {**values, ":to": transition.to_status.value}
        return (
            self._items.update_if_exists(
                {"payment_id": payment_id}, update, test, {**tested, **values}
            )
            is not None
        )

    def release(self, payment_id: str, token: str) -> bool:
        return self._write(
            payment_id,
            RELEASE,
            PaymentAsk(0.0, token=token),
            "REMOVE #confirm_token, #confirm_until",
            {},
        )

    def begin_processing(self, payment: Payment, token: str, now: float) -> bool:
        return self._write(
            payment.payment_id,
            BEGIN_PROCESSING,
            PaymentAsk(now, token=token, details=payment),
            "SET #status = :to, #processing_at = :now, #updated_at = :now "
            "REMOVE #confirm_token, #confirm_until",
            {":now": now},
        )

    def complete(self, payment_id: str, transaction_id: str, now: float) -> bool:
        return self._write(
            payment_id,
            COMPLETE,
            PaymentAsk(now, transaction_id=transaction_id),
            "SET #status = :to, #transaction_id = :txn, #completed_at = :now, #updated_at = :now",
            {":txn": transaction_id, ":now": now},
        )

    def fail(self, payment_id: str, from_status: PaymentStatus, reason: str, now: float) -> bool:
        return self._write(
            payment_id,
            FAIL,
            PaymentAsk(now, from_status=from_status),
            "SET #status = :to, #failure_reason = :reason, #updated_at = :now",
            {":reason": reason, ":now": now},
        )

    def expire(self, payment_id: str, now: float) -> bool:
        return self._end_pending(payment_id, EXPIRE, now)

    def cancel(self, payment_id: str, now: float) -> bool:
        return self._end_pending(payment_id, CANCEL, now)

    def _end_pending(self, payment_id: str, transition: PaymentTransition, now: float) -> bool:
        return self._write(
            payment_id,
            transition,
            PaymentAsk(now),
            "SET #status = :to, #updated_at = :now",
            {":now": now},
        )

    def extend(self, payment_id: str, expires_at: float, now: float) -> bool:
        return self._write(
            payment_id,
            EXTEND,
            PaymentAsk(now, expires_at=expires_at),
            "SET #expires_at = :expires_at, #updated_at = :now",
            {":expires_at": expires_at, ":now": now},
        )
