"""PasswordThrottle on RateLimitsTable (docs/abuse-controls.md#password-throttling).

`pwfail#<account key>`: the account's consecutive wrong passwords (`failures`), the time the
next attempt may start (`until`) and when the count is forgotten (`ttl`). `pwsrc#<digest of the
source address>#<window>`: wrong passwords from one address in a fixed window.

Every attempt is counted before its password is checked, by a conditional update, so concurrent
guesses cannot exceed the free failures: past them, each attempt also sets `until` to a short
lease, so exactly one guess at a time gets through once the wait is over. A right password
deletes the account's item and gives the source its count back, in one transaction.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.send_limits import TTL_MARGIN_SECS
from phoneverify.adapters.dynamo.toolkit import (
    Table,
    count_down,
    count_down_request,
    delete,
    to_item,
    transact_write,
)
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import LoginThrottled, StorageUnavailable
from phoneverify.domain.models import PasswordAttempt, RequestOrigin
from phoneverify.domain.throttling import ACCOUNT_PREFIX, PasswordThrottlePolicy
from phoneverify.ports import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)

NAMES = {"#failures": "failures", "#until": "until", "#ttl": "ttl"}


class DynamoPasswordThrottle:
    def __init__(
        self, client: DynamoDBClient, table: str, policy: PasswordThrottlePolicy, clock: Clock
    ) -> None:
        self._client = client
        self._table = table
        self._items = Table(client, table, NAMES)
        self._policy = policy
        self._clock = clock

    def admit(self, account_key: str, origin: RequestOrigin) -> PasswordAttempt:
        now = self._clock.now()
        source = self._reserve_source(self._policy.source_key(origin, now), now)
        try:
            failures = self._reserve_account(account_key, now)
        except BaseException:
            self._refund_source(source)
            raise
        return PasswordAttempt(account_key, source, failures)

    def failed(self, attempt: PasswordAttempt) -> int:
        delay = self._policy.delay_after(attempt.failures)
        if delay:
            try:
                self._items.update(
                    self._key(attempt.account_key),
                    "SET #until = :until",
                    # Only the newest failure sets the wait; a reset in between stays a reset.
                    "#failures = :failures",
                    {
                        ":until": self._clock.now() + delay,
                        ":failures": attempt.failures,
                    },
                    returns="UPDATED_NEW",
                    old_on_failure=True,
                )
            except ConditionFailed:
                pass
            except StorageUnavailable:
                # The attempt's lease still holds the account for a while: safe, if short.
                logger.warning("password wait not recorded")
        return delay

    def succeeded(self, attempt: PasswordAttempt) -> None:
        """One request: the account's failures start over and the source gets its count back.
        Should the transaction be cancelled (the source count already at zero or gone with
        its window, or a conflict), each is done on its own."""
        request: list[Any] = [
            {"Delete": {"TableName": self._table, "Key": to_item(self._key(attempt.account_key))}},
            {"Update": count_down_request(self._table, {"pk": attempt.source_key}, "failures")},
        ]
        try:
            reasons = transact_write(self._client, request)
        except StorageUnavailable:
            logger.warning("password failures not cleared")
            return
        if reasons is not None:
            self.clear(attempt.account_key)
            self._refund_source(attempt.source_key)

    def clear(self, account_key: str) -> None:
        try:
            delete(self._client, self._table, self._key(account_key))
        except StorageUnavailable:
            logger.warning("password failures not cleared")

    # -- counters --------------------------------------------------------------------------
    def _reserve_source(self, key: str, now: float) -> str:
        ttl = self._policy.source_window(now) + self._policy.source_window_secs + TTL_MARGIN_SECS
        try:
            self._items.update(
                {"pk": key},
                "ADD #failures :one SET #ttl = :ttl",
                "attribute_not_exists(#failures) OR #failures < :cap",
                {
                    ":one": 1,
                    ":ttl": ttl,
                    ":cap": self._policy.per_source,
                },
                returns="UPDATED_NEW",
                old_on_failure=True,
            )
        except ConditionFailed:
            logger.warning("sign-in refused: source address at its cap")
            raise LoginThrottled(self._policy.source_retry_after(now)) from None
        return key

    def _reserve_account(self, account_key: str, now: float) -> int:
        policy = self._policy
        values = {
            ":one": 1,
            ":now": now,
            ":lease": now + policy.check_lease_secs,
            ":ttl": math.ceil(now + policy.failure_memory_secs),
        }
        for _ in range(3):
            try:
                new = self._items.update(
                    self._key(account_key),
                    "ADD #failures :one SET #until = :lease, #ttl = :ttl",
                    "attribute_not_exists(#failures) OR "
                    "(#ttl > :now AND (#failures < :free OR #until <= :now))",
                    {**values, ":free": policy.free_failures},
                    returns="UPDATED_NEW",
                    old_on_failure=True,
                )
                return int(new["failures"])
            except ConditionFailed as refused:
                old = refused.item or {}
            if not old:
                continue  # deleted (a right password) between the two: try again
            if float(old["ttl"]) > now:
                wait = float(old.get("until", 0)) - now
                raise LoginThrottled(max(1, math.ceil(wait)))
            # Forgotten, though TTL has not deleted the item yet: the count starts over.
            try:
                self._items.update(
                    self._key(account_key),
                    "SET #failures = :one, #until = :lease, #ttl = :ttl",
                    "#ttl <= :now",
                    values,
                    returns="UPDATED_NEW",
                    old_on_failure=True,
                )
                return 1
            except ConditionFailed:
                continue
        raise StorageUnavailable()

    def _refund_source(self, key: str) -> None:
        try:
            count_down(self._client, self._table, {"pk": key}, "failures")
        except (ConditionFailed, StorageUnavailable):
            logger.warning("source count not given back")

    @staticmethod
    def _key(account_key: str) -> dict[str, Any]:
        return {"pk": f"{ACCOUNT_PREFIX}{account_key}"}
