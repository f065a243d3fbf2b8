"""Exempt (code-free) payments in DynamoDB: per account, the payments completed without a
code since its last verified one, counted in PaymentsTable beside the payments, and written
with the payment they count in one transaction (PSD2 RTS Art. 16; flows/payment.py)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.payments import DEFAULT_RETENTION_SECS, payment_item
from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    Cancellation,
    conditional_update,
    conflicts_after_cancellation,
    read_item,
    to_item,
    transact_write_items,
    update_request,
)
from phoneverify.adapters.dynamo.write_buffer import delete_best_effort
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import Exemption, Payment, StepUpReason
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock
else:
    DynamoDBClient = Any

logger = Logger(child=True)

# Concurrent payments of one account meet on its count (TransactionConflict): tried again
# after a jittered pause, as the send limits are, then 503 (toolkit.conflicts_after_cancellation).

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

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        failures: DynamoAccountLock,
        retention_secs: int = DEFAULT_RETENTION_SECS,
    ) -> None:
        """`table`: PaymentsTable (the counts and the payments); `failures`: the wrong codes
        per account, whose lock a payment without a code is checked against."""
        self._client = client
        self._table = table
        self._failures = failures
        self._retention = retention_secs

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
        exemption = Exemption(user_id, currency, amount_minor, payment.payment_id)
        written = {
            "TableName": self._table,
            # The payment keeps what giving its count back needs (the reconciler's too).
            "Item": to_item(payment_item(replace(payment, exemption=exemption), self._retention)),
            "ConditionExpression": "attribute_not_exists(payment_id)",
        }
        items = [{"Update": count}, {"ConditionCheck": unlocked.body}, {"Put": written}]
        conflicts = 0
        while True:
            # The token makes botocore's own retries of one attempt idempotent.
            cancelled = transact_write_items(self._client, items, token=str(uuid.uuid4()))
            if cancelled is None:
                return exemption
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
