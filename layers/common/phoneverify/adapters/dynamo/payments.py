"""Payments in DynamoDB, the local ledger processor, and Idempotency-Key handling.

ClientError codes become domain outcomes here (through `dynamodb_errors`), and Powertools
Idempotency's errors become IdempotencyKeyReused / IdempotencyKeyInUse / StorageUnavailable.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyInconsistentStateError,
    IdempotencyPersistenceLayerError,
    IdempotencyValidationError,
)
from aws_lambda_powertools.utilities.typing import LambdaContext

from phoneverify.adapters.dynamo.toolkit import av, conditional_update, dynamodb_errors
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PaymentDetailsChanged,
    StorageUnavailable,
)
from phoneverify.domain.models import Exemption, Payment, PaymentStatus, StepUpReason
from phoneverify.ports import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)

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


class DynamoPaymentRepository:
    """One item per payment under `payment_id`. Payments are records of money: no TTL."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def create(self, payment: Payment) -> None:
        item: dict[str, Any] = {
            "payment_id": av(payment.payment_id),
            "user_id": av(payment.user_id),
            "amount": av(payment.amount),
            "currency": av(payment.currency),
            "recipient": av(payment.recipient),
            "status": av(payment.status.value),
            "requires_verification": {"BOOL": payment.requires_verification},
            "created_at": av(payment.created_at),
            "updated_at": av(payment.created_at),
        }
        if payment.description:
            item["description"] = av(payment.description)
        if payment.flow_id is not None:
            item["flow_id"] = av(payment.flow_id)
        if payment.expires_at is not None:
            item["expires_at"] = av(payment.expires_at)
        with dynamodb_errors():
            self._client.put_item(
                TableName=self._table,
                Item=item,
                ConditionExpression="attribute_not_exists(payment_id)",
            )

    def get(self, payment_id: str) -> Payment | None:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table, Key={"payment_id": av(payment_id)}, ConsistentRead=True
            ).get("Item")
        if item is None:
            return None

        def text(name: str) -> str | None:
            value = item.get(name, {}).get("S")
            return None if value is None else str(value)

        def number(name: str) -> float | None:
            value = item.get(name, {}).get("N")
            return None if value is None else float(value)

        return Payment(
            payment_id=item["payment_id"]["S"],
            user_id=item["user_id"]["S"],
            amount=item["amount"]["S"],
            currency=item["currency"]["S"],
            recipient=item["recipient"]["S"],
            description=text("description"),
            status=PaymentStatus(item["status"]["S"]),
            created_at=float(item["created_at"]["N"]),
            flow_id=text("flow_id"),
            expires_at=number("expires_at"),
            transaction_id=text("transaction_id"),
        )

    def _update(self, payment_id: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        try:
            conditional_update(
                self._client,
                self._table,
                {"payment_id": av(payment_id)},
                update,
                f"attribute_exists(#payment_id) AND ({condition})",
                values,
                names={"#payment_id": "payment_id", **{f"#{n}": n for n in _NAMES}},
            )
        except ConditionFailed:
            return False
        return True

    def claim(self, payment_id: str, token: str, now: float, lease_secs: int) -> bool:
        return self._update(
            payment_id,
            "SET #confirm_token = :token, #confirm_until = :until",
            "#status = :pending AND (attribute_not_exists(#confirm_until) "
            "OR #confirm_until <= :now)",
            {
                ":token": av(token),
                ":until": av(now + lease_secs),
                ":pending": av(PaymentStatus.PENDING.value),
                ":now": av(now),
            },
        )

    def release(self, payment_id: str, token: str) -> bool:
        return self._update(
            payment_id,
            "REMOVE #confirm_token, #confirm_until",
            "#confirm_token = :token",
            {":token": av(token)},
        )

    def begin_processing(self, payment: Payment, token: str, now: float) -> bool:
        return self._update(
            payment.payment_id,
            "SET #status = :processing, #processing_at = :now, #updated_at = :now "
            "REMOVE #confirm_token, #confirm_until",
            "#status = :pending AND #confirm_token = :token AND #user_id = :user "
            "AND #amount = :amount AND #currency = :currency AND #recipient = :recipient",
            {
                ":processing": av(PaymentStatus.PROCESSING.value),
                ":pending": av(PaymentStatus.PENDING.value),
                ":token": av(token),
                ":now": av(now),
                ":user": av(payment.user_id),
                ":amount": av(payment.amount),
                ":currency": av(payment.currency),
                ":recipient": av(payment.recipient),
            },
        )

    def complete(self, payment_id: str, transaction_id: str, now: float) -> bool:
        return self._update(
            payment_id,
            "SET #status = :completed, #transaction_id = :txn, #completed_at = :now, "
            "#updated_at = :now",
            "#status = :processing",
            {
                ":completed": av(PaymentStatus.COMPLETED.value),
                ":processing": av(PaymentStatus.PROCESSING.value),
                ":txn": av(transaction_id),
                ":now": av(now),
            },
        )

    def fail(self, payment_id: str, from_status: PaymentStatus, reason: str, now: float) -> bool:
        return self._update(
            payment_id,
            "SET #status = :failed, #failure_reason = :reason, #updated_at = :now",
            "#status = :from",
            {
                ":failed": av(PaymentStatus.FAILED.value),
                ":from": av(from_status.value),
                ":reason": av(reason),
                ":now": av(now),
            },
        )

    def expire(self, payment_id: str, now: float) -> bool:
        return self._end_pending(payment_id, PaymentStatus.EXPIRED, now)

    def cancel(self, payment_id: str, now: float) -> bool:
        return self._end_pending(payment_id, PaymentStatus.CANCELLED, now)

    def _end_pending(self, payment_id: str, status: PaymentStatus, now: float) -> bool:
        return self._update(
            payment_id,
            "SET #status = :to, #updated_at = :now",
            "#status = :pending",
            {
                ":to": av(status.value),
                ":pending": av(PaymentStatus.PENDING.value),
                ":now": av(now),
            },
        )

    def extend(self, payment_id: str, expires_at: float, now: float) -> bool:
        return self._update(
            payment_id,
            "SET #expires_at = :expires_at, #updated_at = :now",
            "#status = :pending AND #expires_at > :now",
            {
                ":expires_at": av(expires_at),
                ":pending": av(PaymentStatus.PENDING.value),
                ":now": av(now),
            },
        )


EXEMPT_KEY_PREFIX = "exempt#"  # payment ids are `pay_` + hex, and the API refuses a `#`


def exempt_key(user_id: str) -> str:
    """The PaymentsTable key of an account's count of payments completed without a code."""
    return EXEMPT_KEY_PREFIX + user_id


class DynamoExemptPayments:
    """ExemptPayments as one PaymentsTable item per account, under `exempt#<user_id>`:
    `payments` (how many), `sum_<CUR>` (each currency's sum in minor units) and `window` (a
    random id of this count, so a give-back after a reset changes nothing). No TTL: the count
    lasts until a verified payment deletes the item, however long that takes (Art. 16 counts
    "since the last application of strong customer authentication").

    Round trips: reserve is one UpdateItem, whose failed condition returns the item as it
    was (ALL_OLD) to tell why without a read; give_back and reset one write each."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def reserve(
        self,
        user_id: str,
        currency: str,
        amount_minor: int,
        *,
        cumulative_limit_minor: int,
        max_payments: int,
        now: float,
    ) -> Exemption | StepUpReason:
        window = secrets.token_hex(8)
        try:
            with dynamodb_errors():
                new = self._client.update_item(
                    TableName=self._table,
                    Key={"payment_id": av(exempt_key(user_id))},
                    UpdateExpression="SET #window = if_not_exists(#window, :window), "
                    "#sum = if_not_exists(#sum, :zero) + :amount, #user_id = :user, "
                    "#updated_at = :now ADD #payments :one",
                    ConditionExpression="(attribute_not_exists(#payments) OR #payments < :max) "
                    "AND (attribute_not_exists(#sum) OR #sum < :room)",
                    ExpressionAttributeNames={
                        "#window": "window",
                        "#sum": _sum_attribute(currency),
                        "#user_id": "user_id",
                        "#updated_at": "updated_at",
                        "#payments": "payments",
                    },
                    ExpressionAttributeValues={
                        ":window": av(window),
                        ":zero": av(0),
                        ":amount": av(amount_minor),
                        ":user": av(user_id),
                        ":now": av(now),
                        ":one": av(1),
                        ":max": av(max_payments),
                        ":room": av(cumulative_limit_minor - amount_minor),
                    },
                    ReturnValues="ALL_NEW",
                    ReturnValuesOnConditionCheckFailure="ALL_OLD",
                )["Attributes"]
        except ConditionFailed as refused:
            return self._why(refused.item, user_id, currency, amount_minor, cumulative_limit_minor)
        return Exemption(user_id, currency, amount_minor, str(new["window"]["S"]))

    def _why(
        self,
        item: dict[str, Any] | None,
        user_id: str,
        currency: str,
        amount_minor: int,
        cumulative_limit_minor: int,
    ) -> StepUpReason:
        if item is None:  # an engine that does not return ALL_OLD: read it, on this path only
            with dynamodb_errors():
                item = (
                    self._client.get_item(
                        TableName=self._table,
                        Key={"payment_id": av(exempt_key(user_id))},
                        ConsistentRead=True,
                    ).get("Item")
                    or {}
                )
        spent = int(item.get(_sum_attribute(currency), {}).get("N", "0"))
        if spent + amount_minor >= cumulative_limit_minor:
            return StepUpReason.CUMULATIVE_AMOUNT
        return StepUpReason.PAYMENT_COUNT

    def give_back(self, exemption: Exemption) -> None:
        try:
            with dynamodb_errors():
                self._client.update_item(
                    TableName=self._table,
                    Key={"payment_id": av(exempt_key(exemption.user_id))},
                    UpdateExpression="SET #sum = #sum - :amount ADD #payments :minus_one",
                    ConditionExpression="#window = :window AND #payments >= :one "
                    "AND #sum >= :amount",
                    ExpressionAttributeNames={
                        "#window": "window",
                        "#sum": _sum_attribute(exemption.currency),
                        "#payments": "payments",
                    },
                    ExpressionAttributeValues={
                        ":window": av(exemption.window),
                        ":amount": av(exemption.amount_minor),
                        ":minus_one": av(-1),
                        ":one": av(1),
                    },
                )
        except ConditionFailed:
            return  # a verified payment started the count over since
        except StorageUnavailable:
            logger.warning("exempt payment not given back")

    def reset(self, user_id: str) -> None:
        try:
            with dynamodb_errors():
                self._client.delete_item(
                    TableName=self._table,
                    Key={"payment_id": av(exempt_key(user_id))},
                    ConditionExpression="attribute_exists(payment_id)",
                )
        except ConditionFailed:
            return  # nothing was counted
        except StorageUnavailable:
            logger.error("exempt payments not reset")


def _sum_attribute(currency: str) -> str:
    """`sum_USD`: a top-level attribute per currency (ADD and `+` work on top-level numbers
    without a map that would have to exist first). `currency` is a validated ISO 4217 code."""
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
            "payment_id": av(payment.payment_id),
            "transaction_id": av(transaction_id),
            "user_id": av(payment.user_id),
            "amount": av(payment.amount),
            "currency": av(payment.currency),
            "recipient": av(payment.recipient),
            "created_at": av(self._clock.now()),
        }
        try:
            with dynamodb_errors():
                self._client.put_item(
                    TableName=self._table,
                    Item=item,
                    ConditionExpression="attribute_not_exists(payment_id)",
                )
        except ConditionFailed:
            return self._existing(payment)
        return transaction_id

    def _existing(self, payment: Payment) -> str:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table,
                Key={"payment_id": av(payment.payment_id)},
                ConsistentRead=True,
            ).get("Item")
        if item is None:  # deleted between the two calls: nothing we can vouch for
            raise StorageUnavailable()
        recorded = tuple(item[k]["S"] for k in ("user_id", "amount", "currency", "recipient"))
        if recorded != (payment.user_id, payment.amount, payment.currency, payment.recipient):
            raise PaymentDetailsChanged()
        return str(item["transaction_id"]["S"])


class PowertoolsIdempotentRequests:
    """Idempotency-Key over Powertools Idempotency and its DynamoDB table (pk `id`, TTL
    `expiration`). The record's key is a hash of (scope, key): a key is scoped per user. The
    request is hashed for payload validation; the stored answer is the first response body."""

    KEY_PREFIX = "payments-initiate"

    def __init__(self, client: DynamoDBClient, table: str, expires_after_secs: int) -> None:
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
