"""Payments in DynamoDB, the local ledger processor, and Idempotency-Key handling.

ClientError codes become domain outcomes here (through `dynamodb_errors`), and Powertools
Idempotency's errors become IdempotencyKeyReused / IdempotencyKeyInUse / StorageUnavailable.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    Cancellation,
    Table,
    conditional_update,
    conflicts_after_cancellation,
    put_new,
    read_item,
    to_item,
    transact_write_items,
    update_request,
)
from phoneverify.adapters.dynamo.write_buffer import delete_best_effort
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PaymentDetailsChanged,
    StorageUnavailable,
)
from phoneverify.domain.models import Exemption, Payment, PaymentStatus, StepUpReason
from phoneverify.ports.conditions import ConditionFailed
from phoneverify.ports.payments import PaymentWrite

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from phoneverify.adapters.dynamo.account_lock import DynamoFailureCounter
else:
    DynamoDBClient = Any

logger = Logger(child=True)

# Concurrent payments of one account meet on its count (TransactionConflict): tried again
# after a jittered pause, as the send limits are, then 503 (toolkit.conflicts_after_cancellation).

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


class DynamoPaymentRepository:
    """One item per payment under `payment_id`. Payments are records of money: no TTL."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table
        self._items = Table(client, table, {f"#{name}": name for name in _NAMES})

    def create(self, payment: Payment) -> None:
        put_new(self._client, self._table, payment_item(payment), "payment_id")

    def get(self, payment_id: str) -> Payment | None:
        row = read_item(self._client, self._table, {"payment_id": payment_id})
        return None if row is None else self._payment(row)

    @staticmethod
    def _payment(row: dict[str, Any]) -> Payment:
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

    def claim(
        self, payment_id: str, user_id: str, token: str, now: float, lease_secs: int
    ) -> PaymentWrite:
        try:
            old = self._items.update(
                {"payment_id": payment_id},
                "SET #confirm_token = :token, #confirm_until = :until",
                "#user_id = :user AND #status = :pending AND #expires_at > :now "
                "AND (attribute_not_exists(#confirm_until) OR #confirm_until <= :now)",
                {
                    ":token": token,
                    ":until": now + lease_secs,
                    ":user": user_id,
                    ":pending": PaymentStatus.PENDING.value,
                    ":now": now,
                },
                returns="ALL_OLD",
                old_on_failure=True,
            )
        except ConditionFailed as refused:
            return PaymentWrite(False, self._payment(refused.item) if refused.item else None)
        return PaymentWrite(True, self._payment(old))

    def release(self, payment_id: str, token: str) -> bool:
        return (
            self._items.update_if_exists(
                {"payment_id": payment_id},
                "REMOVE #confirm_token, #confirm_until",
                "#confirm_token = :token",
                {":token": token},
            )
            is not None
        )

    def begin_processing(self, payment: Payment, token: str, now: float) -> bool:
        return (
            self._items.update_if_exists(
                {"payment_id": payment.payment_id},
                "SET #status = :processing, #processing_at = :now, #updated_at = :now "
                "REMOVE #confirm_token, #confirm_until",
                "#status = :pending AND #confirm_token = :token AND #user_id = :user "
                "AND #amount = :amount AND #currency = :currency AND #recipient = :recipient",
                {
                    ":processing": PaymentStatus.PROCESSING.value,
                    ":pending": PaymentStatus.PENDING.value,
                    ":token": token,
                    ":now": now,
                    ":user": payment.user_id,
                    ":amount": payment.amount,
                    ":currency": payment.currency,
                    ":recipient": payment.recipient,
                },
            )
            is not None
        )

    def complete(self, payment_id: str, transaction_id: str, now: float) -> bool:
        return (
            self._items.update_if_exists(
                {"payment_id": payment_id},
                "SET #status = :completed, #transaction_id = :txn, #completed_at = :now, "
                "#updated_at = :now",
                "#status = :processing",
                {
                    ":completed": PaymentStatus.COMPLETED.value,
                    ":processing": PaymentStatus.PROCESSING.value,
                    ":txn": transaction_id,
                    ":now": now,
                },
            )
            is not None
        )

    def fail(self, payment_id: str, from_status: PaymentStatus, reason: str, now: float) -> bool:
        return (
            self._items.update_if_exists(
                {"payment_id": payment_id},
                "SET #status = :failed, #failure_reason = :reason, #updated_at = :now",
                "#status = :from",
                {
                    ":failed": PaymentStatus.FAILED.value,
                    ":from": from_status.value,
                    ":reason": reason,
                    ":now": now,
                },
            )
            is not None
        )

    def expire(self, payment_id: str, now: float) -> bool:
        return self._end_pending(payment_id, PaymentStatus.EXPIRED, now)

    def cancel(self, payment_id: str, now: float) -> bool:
        return self._end_pending(payment_id, PaymentStatus.CANCELLED, now)

    def _end_pending(self, payment_id: str, status: PaymentStatus, now: float) -> bool:
        return (
            self._items.update_if_exists(
                {"payment_id": payment_id},
                "SET #status = :to, #updated_at = :now",
                "#status = :pending",
                {
                    ":to": status.value,
                    ":pending": PaymentStatus.PENDING.value,
                    ":now": now,
                },
            )
            is not None
        )

    def extend(self, payment_id: str, expires_at: float, now: float) -> bool:
        return (
            self._items.update_if_exists(
                {"payment_id": payment_id},
                "SET #expires_at = :expires_at, #updated_at = :now",
                "#status = :pending AND #expires_at > :now",
                {
                    ":expires_at": expires_at,
                    ":pending": PaymentStatus.PENDING.value,
                    ":now": now,
                },
            )
            is not None
        )


EXEMPT_KEY_PREFIX = "exempt#"  # payment ids are `pay_` + hex, and the API refuses a `#`


def exempt_key(user_id: str) -> str:
    """The PaymentsTable key of an account's count of payments completed without a code."""
    return EXEMPT_KEY_PREFIX + user_id


class DynamoExemptPayments:
    """ExemptPayments as one PaymentsTable item per account, under `exempt#<user_id>`:
    `payments` (how many), `sum_<REF>` (the sum of every counted payment converted to the
    reference currency REF, an integer in its minor units: `sum_USD`) and `payment_ids` (a
    string set of the payments counted, so a give-back after a reset, or a second one, changes
    nothing). The limit is compared in the same conditional write that adds to the sum, so
    concurrent payments in any currencies cannot pass it together. Items written before the
    sum was converted hold `sum_EUR` and the like beside it: they are no longer read (their
    USD sum, `sum_USD`, was already in the reference currency's units). No TTL: the count
    lasts until a verified payment deletes the item, however long that takes (Art. 16 counts
    "since the last application of strong customer authentication").

    Round trips: reserve_and_create is one TransactWriteItems (the count, the account lock's
    ConditionCheck, the payment), whose cancellation reasons return the count's item as it was
    (ALL_OLD) to tell why without a read; give_back is one UpdateItem; reset a best-effort
    delete written with the request's other best-effort records (write_buffer.py)."""

    def __init__(self, client: DynamoDBClient, table: str, failures: DynamoFailureCounter) -> None:
        """`table`: PaymentsTable (the counts and the payments); `failures`: the wrong codes
        per account, whose lock a payment without a code is checked against."""
        self._client = client
        self._table = table
        self._failures = failures

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
        user_id, currency = payment.user_id, sum_currency
        count = update_request(
            self._table,
            {"payment_id": exempt_key(user_id)},
            "SET #sum = if_not_exists(#sum, :zero) + :amount, #user_id = :user, "
            "#updated_at = :now ADD #payments :one, #payment_ids :ids",
            "(attribute_not_exists(#payments) OR #payments < :max) "
            "AND (attribute_not_exists(#sum) OR #sum < :room)",
            {
                ":zero": 0,
                ":amount": amount_minor,
                ":user": user_id,
                ":now": now,
                ":one": 1,
                ":ids": {payment.payment_id},
                ":max": max_payments,
                ":room": cumulative_limit_minor - amount_minor,
            },
            _exempt_names(currency),
        )
        count["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        unlocked = self._failures.unlocked_check(user_id, now)
        written = {
            "TableName": self._table,
            "Item": to_item(payment_item(payment)),
            "ConditionExpression": "attribute_not_exists(payment_id)",
        }
        items = [{"Update": count}, {"ConditionCheck": unlocked.body}, {"Put": written}]
        conflicts = 0
        while True:
            # The token makes botocore's own retries of one attempt idempotent.
            cancelled = transact_write_items(self._client, items, token=str(uuid.uuid4()))
            if cancelled is None:
                return Exemption(user_id, currency, amount_minor, payment.payment_id)
            counted, lock, put = (list(cancelled) + [Cancellation("None")] * 3)[:3]
            # The count's refusal answers first: the code's path then meets the lock in the
            # send limits' transaction, as it did when the count was a write of its own.
            if counted.code == REASON_CONDITION_FAILED:
                return self._why(
                    counted.item, user_id, currency, amount_minor, cumulative_limit_minor
                )
            if lock.code == REASON_CONDITION_FAILED:
                raise unlocked.refusal(lock.item)
            if put.code == REASON_CONDITION_FAILED:
                raise ConditionFailed()  # a payment id taken (128 random bits: never)
            reasons = [reason.code for reason in cancelled]
            conflicts = conflicts_after_cancellation(reasons, conflicts, "exempt payment")

    def _why(
        self,
        item: dict[str, Any] | None,
        user_id: str,
        currency: str,
        amount_minor: int,
        cumulative_limit_minor: int,
    ) -> StepUpReason:
        if item is None:  # an engine that does not return ALL_OLD: read it, on this path only
            item = read_item(self._client, self._table, {"payment_id": exempt_key(user_id)}) or {}
        spent = int(item.get(_sum_attribute(currency), 0))
        if spent + amount_minor >= cumulative_limit_minor:
            return StepUpReason.CUMULATIVE_AMOUNT
        return StepUpReason.PAYMENT_COUNT

    def give_back(self, exemption: Exemption) -> None:
        try:
            conditional_update(
                self._client,
                self._table,
                {"payment_id": exempt_key(exemption.user_id)},
                "SET #sum = #sum - :amount ADD #payments :minus_one DELETE #payment_ids :ids",
                "contains(#payment_ids, :id) AND #payments >= :one AND #sum >= :amount",
                {
                    ":id": exemption.payment_id,
                    ":ids": {exemption.payment_id},
                    ":amount": exemption.amount_minor,
                    ":minus_one": -1,
                    ":one": 1,
                },
                names=_exempt_names(exemption.currency),
            )
        except ConditionFailed:
            return  # given back already, or a verified payment started the count over since
        except StorageUnavailable:
            logger.warning("exempt payment not given back")

    def reset(self, user_id: str) -> None:
        def failed() -> None:
            logger.error("exempt payments not reset")

        # At the end of the request, with its other best-effort writes (write_buffer.py): a
        # reset lost only makes the next small payment ask for a code sooner.
        delete_best_effort(self._client, self._table, {"payment_id": exempt_key(user_id)}, failed)


def _exempt_names(currency: str) -> dict[str, str]:
    return {
        "#payment_ids": "payment_ids",
        "#sum": _sum_attribute(currency),
        "#user_id": "user_id",
        "#updated_at": "updated_at",
        "#payments": "payments",
    }


def _sum_attribute(currency: str) -> str:
    """`sum_USD`: the sum, a top-level attribute named by the reference currency (ADD and `+`
    work on top-level numbers without a map that would have to exist first; a change of
    reference currency starts a new sum). `currency` is a validated ISO 4217 code."""
    return f"sum_{currency}"


class LedgerPaymentProcessor:
    """The local stand-in for a payment processor: each payment becomes one LedgerTable item,
    written only if absent, so a payment can never be executed twice. A second charge of the
    same payment returns the first transaction id (a retry after a lost answer)."""

    def __init__(self, client: DynamoDBClient, table: str, clock: Clock) -> None:
        self._client = client
        self._table = table
        self._clock = clock

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
            put_new(self._client, self._table, item, "payment_id")
        except ConditionFailed:
            return self._existing(payment)
        return transaction_id

    def _existing(self, payment: Payment) -> str:
        item = read_item(self._client, self._table, {"payment_id": payment.payment_id})
        if item is None:  # deleted between the two calls: nothing we can vouch for
            raise StorageUnavailable()
        recorded = tuple(item[k] for k in ("user_id", "amount", "currency", "recipient"))
        if recorded != (payment.user_id, payment.amount, payment.currency, payment.recipient):
            raise PaymentDetailsChanged()
        return str(item["transaction_id"])


class PowertoolsIdempotentRequests:
    """Idempotency-Key over Powertools Idempotency and its DynamoDB table (pk `id`, TTL
    `expiration`). The record's key is a hash of (scope, key): a key is scoped per user. The
    request is hashed for payload validation; the stored answer is the first response body."""

    KEY_PREFIX = "payments-initiate"

    def __init__(self, client: DynamoDBClient, table: str, expires_after_secs: int) -> None:
        # Imported here, not with the module: the functions that only read payments
        # (GET /verify/status) never load Powertools Idempotency (docs/performance.md).
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
        )

        self._store = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
        self.config = IdempotencyConfig(
            event_key_jmespath="[scope, key]",
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_secs,
            hash_function="sha256",
        )

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Lets an in-progress record expire when the invocation times out (Powertools)."""
        self.config.register_lambda_context(context)

    def run(
        self,
        scope: str,
        key: str,
        request: Mapping[str, Any],
        compute: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        from aws_lambda_powertools.utilities.idempotency import idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyInconsistentStateError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="data",
            persistence_store=self._store,
            config=self.config,
            key_prefix=self.KEY_PREFIX,
        )
        def first_answer(*, data: dict[str, Any]) -> dict[str, Any]:
            return compute()

        try:
            answer: dict[str, Any] = first_answer(
                data={"scope": scope, "key": key, "request": dict(request)}
            )
        except IdempotencyValidationError:
            raise IdempotencyKeyReused() from None
        except IdempotencyAlreadyInProgressError:
            raise IdempotencyKeyInUse() from None
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
            raise StorageUnavailable() from exc
        return answer
