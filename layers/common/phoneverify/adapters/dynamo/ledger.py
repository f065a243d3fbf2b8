"""The local stand-in for a payment processor, on DynamoDB (LedgerTable)."""

from __future__ import annotations

import secrets
from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import put_new, read_item
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    StorageUnavailable,
)
from phoneverify.domain.models import Payment
from phoneverify.domain.payment_errors import (
    PaymentDeclined,
    PaymentDetailsChanged,
)
from phoneverify.ports.conditions import ConditionFailed
from phoneverify.ports.payments import ProcessorSettlement, Settlement

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any


class LedgerPaymentProcessor:
    """The local stand-in for a payment processor: each payment becomes one LedgerTable item,
    written only if absent, so a payment can never be executed twice. A second charge of the
    same payment returns the first transaction id (a retry after a lost answer).

    `settle` answers what the ledger holds for a payment id; where it holds nothing it puts a
    void item (`voided: true`, no transaction id) under the same conditional write, so the
    payment id has one outcome for good: a later charge of it is declined. A ledger item is
    a charge unless it is `voided`."""

    def __init__(
        self, client: DynamoDBClient, table: str, clock: Clock, retention_secs: int | None = None
    ) -> None:
        self._client = client
        self._table = table
        self._clock = clock
        self._retention = retention_secs

    def charge(self, payment: Payment) -> str:
        transaction_id = "txn_" + secrets.token_hex(12)
        item = {
            "payment_id": payment.payment_id,
            "transaction_id": transaction_id,
            "user_id": payment.user_id,
            "amount": payment.amount,
            "currency": payment.currency,
            "recipient": payment.recipient,
            "created_at": self._clock.now(),
        }
        try:
            put_new(self._client, self._table, self._kept(item), "payment_id")
        except ConditionFailed:
            return self._existing(payment)
        return transaction_id

    def settle(self, payment: Payment) -> ProcessorSettlement:
        void = {"payment_id": payment.payment_id, "voided": True, "created_at": self._clock.now()}
        try:
            put_new(self._client, self._table, self._kept(void), "payment_id")
        except ConditionFailed:
            item = self._read(payment)
            if item.get("voided"):
                return ProcessorSettlement(Settlement.NOT_CHARGED)
            return ProcessorSettlement(Settlement.CHARGED, str(item["transaction_id"]))
        return ProcessorSettlement(Settlement.NOT_CHARGED)

    def _kept(self, item: dict[str, Any]) -> dict[str, Any]:
        """The item with its expiry: kept as long as the payment (docs/privacy.md)."""
        if self._retention is not None:
            item["ttl"] = int(self._clock.now()) + self._retention
        return item

    def _read(self, payment: Payment) -> dict[str, Any]:
        item = read_item(self._client, self._table, {"payment_id": payment.payment_id})
        if item is None:  # deleted between the two calls: nothing we can vouch for
            raise StorageUnavailable()
        return item

    def _existing(self, payment: Payment) -> str:
        item = self._read(payment)
        if item.get("voided"):  # settled as never charged (the reconciler): it never will be
            raise PaymentDeclined()
        recorded = tuple(item[k] for k in ("user_id", "amount", "currency", "recipient"))
        if recorded != (payment.user_id, payment.amount, payment.currency, payment.recipient):
            raise PaymentDetailsChanged()
        return str(item["transaction_id"])
