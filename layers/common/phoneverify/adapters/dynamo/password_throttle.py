"""PasswordThrottle on RateLimitsTable (docs/abuse-controls.md#password-throttling).

`pwfail#<HMAC of the account key under the pepper>` (domain/keyed.py; the account key is a
plain SHA-256 of the email, which anyone could recompute from a guessed address): the
account's consecutive wrong passwords (`failures`), the time the
next attempt may start (`until`), whom the failures were audited under (`audit_subject`, set
with the wait: the account's user id, or the hashed email of none) and when the count is
forgotten (`ttl`). `pwsrc#<digest of the
source address>#<window>`: wrong passwords from one address in a fixed window.

Every attempt is counted before its password is checked, in both, by one transaction of two
conditional updates (a refusal by either counts in neither), so concurrent guesses cannot exceed
the free failures: past them, each attempt also sets `until` to a short lease, so exactly one
guess at a time gets through once the wait is over. A right password deletes the account's item
and gives the source its count back, in one transaction.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.send_limits import TTL_MARGIN_SECS
from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    Table,
    conflicts_after_cancellation,
    count_down,
    count_down_request,
    delete,
    to_item,
    transact_write,
    transact_write_items,
    update_request,
)
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import LoginThrottled, SourceThrottled, StorageUnavailable
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.models import PasswordAttempt, RequestOrigin
from phoneverify.domain.throttling import ACCOUNT_PREFIX, PasswordThrottlePolicy
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)

NAMES = {"#failures": "failures", "#until": "until", "#ttl": "ttl", "#subject": "audit_subject"}
# An attempt tries again with the account's item as its cancellation found it: each time, another
# attempt (or a right password) changed it first. Racing attempts change it at most once per
# free failure before the wait holds them all, so past that many (and this margin) it gives up
# (503, nothing counted).
STALE_MARGIN = 3


class DynamoPasswordThrottle:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        policy: PasswordThrottlePolicy,
        clock: Clock,
        pepper: Callable[[], bytes] | None = None,
    ) -> None:
        self._pepper = pepper
        self._client = client
        self._table = table
        self._items = Table(client, table, NAMES)
        self._policy = policy
        self._clock = clock

    def admit(
        self, account_key: str, origin: RequestOrigin, *, vouched: bool = False
    ) -> PasswordAttempt:
        """Both counts in one TransactWriteItems, or neither: the source's, below its cap,
        and the account's. A transaction answers no new values, so the account's write
        names the count it expects and sets the next one: it expects the common case first
        (no recent failure: no item), and when the item is otherwise, learns it from the
        cancellation (ALL_OLD) and tries again with it. A sign-in after no recent failure is
        one call; after one, two, as the two updates were."""
        now = self._clock.now()
        policy = self._policy
        source = policy.source_key(origin, now)
        source_ttl = policy.source_window(now) + policy.source_window_secs + TTL_MARGIN_SECS
        count_source = update_request(
            self._table,
            {"pk": source},
            "ADD #failures :one SET #ttl = :ttl",
            # A solved proof of work: counted, never refused by the cap.
            "attribute_not_exists(#failures) OR #failures < :cap"
            + (" OR #failures >= :cap" if vouched else ""),
            {":one": 1, ":ttl": source_ttl, ":cap": policy.per_source},
            NAMES,
        )
        found: dict[str, Any] | None = None  # the account's item, as last seen
        conflicts = stale = 0
        while True:
            failures, count_account = self._count_account(account_key, found, now)
            cancelled = transact_write_items(
                self._client, [{"Update": count_source}, {"Update": count_account}]
            )
            if cancelled is None:
                return PasswordAttempt(account_key, source, failures)
            if len(cancelled) != 2:
                raise StorageUnavailable()
            by_source, by_account = cancelled
            if by_source.code == REASON_CONDITION_FAILED:  # first, as when it was counted first
                logger.warning("sign-in refused: source address at its cap")
                raise SourceThrottled(policy.source_retry_after(now))
            if by_account.code == REASON_CONDITION_FAILED:
                # Not the item expected (another attempt, a right password, a wait): again
                # with the item found, which may answer the refusal without a write.
                found, stale = by_account.item, stale + 1
                if stale > policy.free_failures + STALE_MARGIN:
                    raise StorageUnavailable()
                continue
            codes = [reason.code for reason in cancelled]
            conflicts = conflicts_after_cancellation(codes, conflicts, "password attempt")

    def failed(self, attempt: PasswordAttempt, subject: str | None = None) -> int:
        delay = self._policy.delay_after(attempt.failures)
        if delay:
            try:
                self._items.update(
                    self._key(attempt.account_key),
                    # The wait keeps whom it is audited under (`audit_subject`): the attempts
                    # it refuses are audited there with no read of the account.
                    "SET #until = :until, #subject = :subject",
                    # Only the newest failure sets the wait; a reset in between stays a reset.
                    "#failures = :failures",
                    {
                        ":until": self._clock.now() + delay,
                        ":failures": attempt.failures,
                        ":subject": subject or "",
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
    def _count_account(
        self, account_key: str, found: dict[str, Any] | None, now: float
    ) -> tuple[int, dict[str, Any]]:
        """The account's count after this attempt, and the conditional update that sets it
        only while the item is still `found` (None: no item); LoginThrottled, counting
        nothing, when `found` makes the attempt wait."""
        policy = self._policy
        values: dict[str, Any] = {
            ":one": 1,
            ":lease": now + policy.check_lease_secs,
            ":ttl": math.ceil(now + policy.failure_memory_secs),
        }
        update = "SET #failures = :one, #until = :lease, #ttl = :ttl"
        if found is None:
            failures, condition = 1, "attribute_not_exists(#failures)"
        elif float(found.get("ttl", 0)) <= now:
            # Forgotten, though TTL has not deleted the item yet: the count starts over.
            failures, condition = 1, "attribute_not_exists(#ttl) OR #ttl <= :now"
            values[":now"] = now
        else:
            previous = int(found.get("failures", 0))
            wait = float(found.get("until", 0)) - now
            if previous >= policy.free_failures and wait > 0:
                raise LoginThrottled(max(1, math.ceil(wait)), found.get("audit_subject") or None)
            failures = previous + 1
            update = "SET #failures = :next, #until = :lease, #ttl = :ttl"
            # The wait is the condition too: a failure recorded since sets it.
            condition = (
                "#failures = :previous AND #ttl > :now AND (#failures < :free OR #until <= :now)"
            )
            values.update(
                {
                    ":next": failures,
                    ":previous": previous,
                    ":now": now,
                    ":free": policy.free_failures,
                }
            )
            del values[":one"]
        request = update_request(
            self._table, self._key(account_key), update, condition, values, NAMES
        )
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        return failures, request

    def _refund_source(self, key: str) -> None:
        try:
            count_down(self._client, self._table, {"pk": key}, "failures")
        except (ConditionFailed, StorageUnavailable):
            logger.warning("source count not given back")

    def _key(self, account_key: str) -> dict[str, Any]:
        """The account's item: keyed under the pepper (docs/privacy.md#keyed-keys); counts kept
        under the plain key before this are no longer read, and expire with their `ttl`."""
        if self._pepper is not None:
            account_key = keyed_digest(self._pepper(), account_key)
        return {"pk": f"{ACCOUNT_PREFIX}{account_key}"}
