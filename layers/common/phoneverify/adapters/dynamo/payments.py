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
from phoneverify.adapters.dynamo.toolkit import (
    Table,
    delete,
    dynamodb_errors,
    from_item,
    read_item,
    status_in,
    to_item,
)
from phoneverify.domain.lifecycle.payment import (
    ABANDON,
    BEGIN_PROCESSING,
    CANCEL,
    CLAIM,
    COMPLETE,
    CREATION_IDENTITY,
    EXPIRE,
    EXTEND,
    FAIL,
    RELEASE,
    SETTLE_UNCLAIMED,
    PaymentAsk,
    PaymentGuard,
    PaymentTransition,
    status_allowed,
)
from phoneverify.domain.models import Exemption, Payment, PaymentStatus
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
    "unsettled",
    "unsettled_since",
)
# The sparse index of unsettled payments, oldest first (the reconciler's): its partition key
# `unsettled` holds one value, present only while `unsettled_since` is.
UNSETTLED_INDEX = "unsettled-by-age"
UNSETTLED = "payment"
_MARK = "#unsettled = :unsettled, #unsettled_since = :now"
_SETTLED = "REMOVE #unsettled, #unsettled_since"


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
    PaymentGuard.UNSETTLED_AS_SEEN: (
        "#unsettled_since = :seen",
        lambda ask: {":seen": ask.unsettled_since},
    ),
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


# The payer index (user_id, created_at): the person's payments, for their export and deletion.
PAYER_INDEX = "payer-index"
# A payment is a record of money the operator must keep for years, then no longer (its `ttl`).
DEFAULT_RETENTION_SECS = 3_650 * 86_400


def payment_item(payment: Payment, retention_secs: int = DEFAULT_RETENTION_SECS) -> dict[str, Any]:
    """The PaymentsTable item of `payment`, as plain values (None values are left out)."""
    return {
        "ttl": int(payment.created_at) + retention_secs,
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
        "unsettled": None if payment.unsettled_since is None else UNSETTLED,
        "unsettled_since": payment.unsettled_since,
        "exempt_currency": payment.exemption.currency if payment.exemption else None,
        "exempt_minor": payment.exemption.amount_minor if payment.exemption else None,
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
        unsettled_since=number("unsettled_since"),
        exemption=_exemption_of(row),
    )


def _exemption_of(row: Mapping[str, Any]) -> Exemption | None:
    if row.get("exempt_minor") is None:
        return None
    currency, minor = str(row["exempt_currency"]), int(row["exempt_minor"])
    return Exemption(str(row["user_id"]), currency, minor, str(row["payment_id"]))


class DynamoPaymentRepository:
    """One item per payment under `payment_id`. Payments are records of money: kept
    `retention_secs` (the operator's legal retention; docs/privacy.md), then TTL removes them."""

    def __init__(
        self, client: DynamoDBClient, table: str, retention_secs: int = DEFAULT_RETENTION_SECS
    ) -> None:
        self._client = client
        self._table = table
        self._retention = retention_secs
        self._items = Table(client, table, {f"#{name}": name for name in _NAMES})

    def create(self, payment: Payment) -> None:
        item = payment_item(payment, self._retention)
        put_new_once(self._client, self._table, item, "payment_id", CREATION_IDENTITY)

    def of_payer(self, user_id: str) -> list[Payment]:
        """The payer's payments, oldest first, through the payer index (eventually
        consistent: a payment written this very second may be missing)."""
        rows: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "IndexName": PAYER_INDEX,
            "KeyConditionExpression": "user_id = :uid",
            "ExpressionAttributeValues": to_item({":uid": user_id}),
        }
        while True:
            with dynamodb_errors():
                page = self._client.query(**request)
            rows.extend(from_item(each) for each in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return [payment_of(row) for row in rows]
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def forget_payer(self, user_id: str) -> None:
        """Delete the payer's count of payments without a code (`exempt#<user_id>`, kept
        without a TTL while the account lives: exempt_payments.py)."""
        delete(self._client, self._table, {"payment_id": f"exempt#{user_id}"})

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
                "SET #confirm_token = :token, #confirm_until = :until, " + _MARK,
                test,
                {**values, ":token": token, ":until": now + lease_secs, ":unsettled": UNSETTLED},
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
            "SET #status = :to, #processing_at = :now, #updated_at = :now, " + _MARK + " "
            "REMOVE #confirm_token, #confirm_until",
            {":now": now, ":unsettled": UNSETTLED},
        )

    def complete(self, payment_id: str, transaction_id: str, now: float) -> bool:
        return self._write(
            payment_id,
            COMPLETE,
            PaymentAsk(now, transaction_id=transaction_id),
            "SET #status = :to, #transaction_id = :txn, #completed_at = :now, #updated_at = :now "
            + _SETTLED,
            {":txn": transaction_id, ":now": now},
        )

    def fail(self, payment_id: str, from_status: PaymentStatus, reason: str, now: float) -> bool:
        return self._write(
            payment_id,
            FAIL,
            PaymentAsk(now, from_status=from_status),
            "SET #status = :to, #failure_reason = :reason, #updated_at = :now " + _SETTLED,
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
            "SET #status = :to, #updated_at = :now " + _SETTLED,
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

    def abandon(self, payment_id: str, unsettled_since: float, now: float) -> bool:
        return self._write(
            payment_id,
            ABANDON,
            PaymentAsk(now, unsettled_since=unsettled_since),
            "SET #status = :to, #failure_reason = :reason, #updated_at = :now " + _SETTLED,
            {":reason": "abandoned", ":now": now},
        )

    def settle_unclaimed(self, payment_id: str, unsettled_since: float, now: float) -> bool:
        return self._write(
            payment_id,
            SETTLE_UNCLAIMED,
            PaymentAsk(now, unsettled_since=unsettled_since),
            "SET #updated_at = :now " + _SETTLED,
            {":now": now},
        )

    def unsettled(self, since_before: float, limit: int) -> list[str]:
        """Up to `limit` ids of payments unsettled since before `since_before`, oldest first
        (the sparse index: eventually consistent; each is read again before it is settled)."""
        with dynamodb_errors():
            answer = self._client.query(
                TableName=self._table,
                IndexName=UNSETTLED_INDEX,
                KeyConditionExpression="#unsettled = :unsettled AND #unsettled_since < :before",
                ExpressionAttributeNames={
                    "#unsettled": "unsettled",
                    "#unsettled_since": "unsettled_since",
                },
                ExpressionAttributeValues=to_item(
                    {":unsettled": UNSETTLED, ":before": since_before}
                ),
                Limit=limit,
            )
        return [str(from_item(item)["payment_id"]) for item in answer.get("Items", [])]
