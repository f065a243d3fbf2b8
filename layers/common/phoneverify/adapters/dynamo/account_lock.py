"""The wrong-code account lock on DynamoDB (RateLimitsTable): one `fail#<subject>` item per
account counts its consecutive wrong codes. The rule (threshold, lockout, what each write
does) is `phoneverify.domain.lifecycle.account_lock`; the conditions here are built from it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.toolkit import (
    TransactionCheck,
    conditional_update,
    count_down,
    read_item,
    to_item,
)
from phoneverify.adapters.dynamo.write_buffer import delete_best_effort
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import AccountLocked, StorageUnavailable
from phoneverify.domain.lifecycle.account_lock import AccountLockRule, FailureCount
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)

_NAMES = {"#failures": "failures", "#ttl": "ttl"}
# The rule's conditions, in DynamoDB's words (a missing attribute compares false):
# locked: the count at the threshold and unexpired (AccountLockRule.locked_for).
LOCKED = "#failures >= :max AND #ttl > :now"
# one more on a live count below the threshold, or the first (AccountLockRule.counted).
COUNTS_ON = "attribute_not_exists(#failures) OR (#failures < :max AND #ttl > :now)"
# a count past its expiry that DynamoDB has not deleted yet starts over at one.
STARTS_OVER = "#ttl <= :now"


class DynamoAccountLock:
    """AccountLock on RateLimitsTable: `fail#<subject>` counts consecutive wrong codes by
    AccountLockRule. TTL deletion lags, so an item past its `ttl` counts as gone."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        *,
        max_failures: int,
        lockout_secs: int,
        clock: Clock,
    ) -> None:
        self._client = client
        self._table = table
        self.rule = AccountLockRule(max_failures, lockout_secs)
        self._clock = clock

    def _key(self, subject: str) -> dict[str, Any]:
        return {"pk": self.rule.key(subject)}

    def ensure_unlocked(self, subject: str) -> None:
        item = read_item(self._client, self._table, self._key(subject))
        locked = self._lock_in(item, self._clock.now())
        if locked is not None:
            raise locked

    def unlocked_check(self, subject: str, now: float) -> TransactionCheck:
        """ensure_unlocked as a ConditionCheck, for a transaction that must not be written
        while the account is locked (DynamoSendLimits.admit): it holds unless the count is at
        the cap and unexpired, and when it fails, the item it found answers AccountLocked
        with the same Retry-After as ensure_unlocked."""
        body = {
            "TableName": self._table,
            "Key": to_item(self._key(subject)),
            "ConditionExpression": f"NOT ({LOCKED})",
            "ExpressionAttributeNames": _NAMES,
            "ExpressionAttributeValues": to_item({":max": self.rule.max_failures, ":now": now}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

        def refusal(item: dict[str, Any] | None) -> AccountLocked:
            # Without the item (an engine that does not return it): the longest answer.
            return self._lock_in(item, now) or AccountLocked(self.rule.lockout_secs)

        return TransactionCheck(body, refusal)

    def _lock_in(self, item: Mapping[str, Any] | None, now: float) -> AccountLocked | None:
        """The lock the account's item holds at `now`, if it holds one."""
        locked_for = self.rule.locked_for(failure_count(item), now)
        return None if locked_for is None else AccountLocked(locked_for)

    def reserve(self, subject: str) -> int:
        for _ in range(3):
            now = self._clock.now()
            values = {":one": 1, ":ttl": self.rule.expiry(now), ":now": now}
            try:
                new = conditional_update(
                    self._client,
                    self._table,
                    self._key(subject),
                    "ADD #failures :one SET #ttl = :ttl",
                    COUNTS_ON,
                    {**values, ":max": self.rule.max_failures},
                    names=_NAMES,
                    returns="UPDATED_NEW",
                )
                return self.rule.attempts_left(FailureCount(int(new["failures"]), 0.0))
            except ConditionFailed:
                pass
            try:
                conditional_update(
                    self._client,
                    self._table,
                    self._key(subject),
                    "SET #failures = :one, #ttl = :ttl",
                    STARTS_OVER,
                    values,
                    names=_NAMES,
                )
                return self.rule.attempts_left(FailureCount(1, 0.0))
            except ConditionFailed:
                pass
            self.ensure_unlocked(subject)  # raises AccountLocked, unless it was just reset
        raise StorageUnavailable()

    def refund(self, subject: str) -> None:
        """Best effort, like DynamoSendLimits.release: a failure not given back errs on the
        safe side."""
        try:
            count_down(self._client, self._table, self._key(subject), "failures")
        except ConditionFailed:
            return
        except StorageUnavailable:
            logger.warning("failure count not given back", extra={"subject": subject})

    def reset(self, subject: str) -> None:
        """Best effort: the code has been accepted whatever happens here; a count left
        behind only brings a lock closer, and the next accepted code resets it."""

        def failed() -> None:
            logger.error("failure count not reset", extra={"subject": subject})

        # At the end of the request, with its other best-effort writes (write_buffer.py).
        delete_best_effort(self._client, self._table, self._key(subject), failed)


def failure_count(item: Mapping[str, Any] | None) -> FailureCount | None:
    """The FailureCount a `fail#` item holds (None: no item)."""
    if not item:
        return None
    return FailureCount(int(item.get("failures", 0)), float(item.get("ttl", 0)))
