"""Abuse controls on DynamoDB (RateLimitsTable): send limits beyond one flow's and the global
SMS budget (the circuit breaker). The rules (caps, counter keys, the refusal) are
`phoneverify.domain.send_limits`; the wrong-code account lock a send is checked against is
account_lock.py.

Send counters use fixed windows (hourly by default): one item per layer and window, counted by
`ADD` under the condition that it is below its cap, and deleted by TTL after the window. One
send is one TransactWriteItems over every layer, so a send refused by one layer counts in none.
What else must hold for the send rides in the same transaction as ConditionChecks
(TransactionCheck): the account not locked (`fail#<subject>`, DynamoAccountLock), and for a
resend to the account's phone, its phone generation. A failed check answers first (the lock
before the phone generation, both before any cap), and counts nothing.

The budget is not one item (every send of the service would write it: a hot key whose
transactions cancel each other) but `budget_shards` items whose caps add up to the budget.
A send counts in one shard, picked at random; a shard that refuses is remembered as full for
the window (in this execution environment) and the send tries the next, so the budget is spent
to its last send and a send is refused only when every shard has refused it. In the steady
state a send stays one TransactWriteItems.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.fraud_guard import DynamoFraudGuard
from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    TransactionCheck,
    conflicts_after_cancellation,
    count_down,
    from_item,
    transact_write_items,
    update_request,
)
from phoneverify.adapters.dynamo.users import phone_generation_check
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    SendBudgetExhausted,
    StorageUnavailable,
)
from phoneverify.domain.models import Channel, PhoneBinding, RequestOrigin, SendPermit
from phoneverify.domain.send_limits import (
    GLOBAL,
    METRIC_ADMITTED,
    METRIC_BUDGET_EXHAUSTED,
    METRIC_REFUSED,
    METRIC_TIER_ADMITTED,
    METRIC_TIER_EXHAUSTED,
    NOTICE_TIER,
    SendCaps,
    budget_shard_caps,
    notice_counters,
    refusal,
    send_counters,
    window_start,
)
from phoneverify.domain.tiers import SendTier
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock
else:
    DynamoDBClient = Any

logger = Logger(child=True)


# Counters outlive their window a little, so a clock slightly behind still finds them.
TTL_MARGIN_SECS = 3_600
# Two sends at the same moment on one budget shard (or one phone, address or account) can
# conflict; they are retried with jitter, on another shard, before answering 503
# (toolkit.conflicts_after_cancellation).
_random = secrets.SystemRandom()


# The counters one send counts in, with the budget through the shard given.
Counters = Callable[[int], list[tuple[str, str, int]]]


def plain_key(body: dict[str, Any]) -> str:
    return str(from_item(body["Key"])["pk"])


def _noop_metric(name: str) -> None:
    return None


def capped_counts(table: str, counters: list[tuple[str, str, int]], ttl: int) -> list[Any]:
    """The transaction items counting one more in each of `counters` ((layer, key, cap)),
    each only while below its cap; every counter expires with its window (`ttl`)."""
    return [
        {
            "Update": update_request(
                table,
                {"pk": key},
                "ADD #sends :one SET #ttl = :ttl",
                "attribute_not_exists(#sends) OR #sends < :cap",
                {":one": 1, ":cap": cap, ":ttl": ttl},
                {"#sends": "sends", "#ttl": "ttl"},
            )
        }
        for _, key, cap in counters
    ]


def give_back(client: DynamoDBClient, table: str, keys: Sequence[str]) -> None:
    """One less in each counter of `keys` (never below zero). Best effort: it runs while a
    provider's failure is being answered, which a DynamoDB failure here must not turn into a
    503; a count not given back only errs on the safe side."""
    for key in keys:
        try:
            count_down(client, table, {"pk": key}, "sends")
        except ConditionFailed:
            continue
        except StorageUnavailable:
            logger.warning("count not given back", extra={"counter": key.split("#")[0]})


class DynamoSendLimits:
    """SendGuard and NoticeBudget on RateLimitsTable. `metric(name)` counts one of the
    METRIC_* names."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        caps: SendCaps,
        clock: Clock,
        metric: Callable[[str], None] = _noop_metric,
        users_table: str | None = None,
        failures: DynamoAccountLock | None = None,
        fraud: DynamoFraudGuard | None = None,
    ) -> None:
        """`users_table`: where a bound resend's account phone generation is checked;
        `failures`: the wrong codes per account whose lock a send may be checked against;
        `fraud`: the fraud guard every code to an unproven number passes."""
        self._client = client
        self._users_table = users_table
        self._failures = failures
        self._fraud = fraud
        self._table = table
        self._caps = caps
        self._clock = clock
        self._metric = metric
        # Budget shards found full, per tier, for one window (older windows are forgotten).
        self._lock = threading.Lock()
        self._full_window = -1
        self._full_shards: set[tuple[SendTier, int]] = set()

    def admit(
        self,
        phone_number: str,
        subject: str,
        origin: RequestOrigin,
        channel: Channel = Channel.SMS,
        binding: PhoneBinding | None = None,
        *,
        account_lock: bool = False,
        tier: SendTier = SendTier.VERIFIED,
        gated: bool = False,
        vouched: bool = False,
    ) -> SendPermit:
        now = self._clock.now()
        checks: list[TransactionCheck] = []
        if account_lock:  # first: a locked account is answered as locked, whatever else
            if self._failures is None:
                raise ValueError("a send under the account lock needs the failure counter")
            checks.append(self._failures.unlocked_check(subject, now))
        if binding is not None:
            if self._users_table is None:
                raise ValueError("a bound send needs the users table")
            body = phone_generation_check(self._users_table, binding)
            checks.append(TransactionCheck(body, binding.refusal))
        if tier is SendTier.UNPROVEN and self._fraud is not None:
            checks.extend(self._fraud.transaction_items(phone_number, now, vouched=vouched))
        at_risk = gated and not vouched
        return self._count(
            lambda shard: send_counters(
                self._caps,
                phone_number,
                subject,
                origin,
                now,
                channel,
                shard,
                tier,
                at_risk=at_risk,
            ),
            now,
            checks,
            tier=tier,
            at_risk=at_risk,
        )

    def admit_notice(self, phone_number: str) -> SendPermit:
        """NoticeBudget: the number's notice cap and the verified tier's SMS budget short of
        the codes' reserve, in one transaction."""
        now = self._clock.now()
        return self._count(
            lambda shard: notice_counters(self._caps, phone_number, now, shard),
            now,
            tier=NOTICE_TIER,
        )

    def _count(
        self,
        counters_on: Counters,
        now: float,
        checks: Sequence[TransactionCheck] = (),
        *,
        tier: SendTier,
        at_risk: bool = False,
    ) -> SendPermit:
        """One more in every counter of `counters_on(shard)`, each below its cap, or in none
        (one transaction); the budget through a shard that has room. Only while every one of
        `checks` holds: else the first that failed answers its refusal, before any cap."""
        ttl = window_start(now, self._caps.window_secs) + self._caps.window_secs + TTL_MARGIN_SECS
        shards = self._shards_to_try(now, tier)
        conflicts = 0
        while True:
            counters = counters_on(shards[0])
            request = self._request(counters, ttl)
            request.extend({check.operation: check.body} for check in checks)
            # The token makes botocore's own retries of one attempt idempotent.
            cancelled = transact_write_items(self._client, request, token=str(uuid.uuid4()))
            if cancelled is None:
                self._metric(METRIC_ADMITTED)
                self._metric(METRIC_TIER_ADMITTED.format(tier=tier))
                prefix_key = next(
                    (plain_key(c.body) for c in checks if c.operation == "Update"), None
                )
                return SendPermit(tuple(key for _, key, _ in counters), prefix_key)
            for check, found in zip(checks, cancelled[len(counters) :], strict=False):
                if found.code == REASON_CONDITION_FAILED:
                    raise check.refusal(found.item)
            reasons = [reason.code for reason in cancelled]
            refused = [
                layer
                for (layer, _, _), reason in zip(counters, reasons, strict=False)
                if reason == REASON_CONDITION_FAILED
            ]
            if GLOBAL in refused:  # this shard of the budget is spent: the next one
                self._mark_full(now, tier, shards.pop(0))
                if shards and refused == [GLOBAL]:
                    continue
                if shards:  # another layer refuses as well: the budget may not be spent
                    refused.remove(GLOBAL)
            if refused:
                raise self._refused(refused, now, tier, at_risk=at_risk)
            shards.append(shards.pop(0))  # a conflict is tried again on another shard, if any
            conflicts = conflicts_after_cancellation(reasons, conflicts, "send limits")

    def _request(self, counters: list[tuple[str, str, int]], ttl: int) -> list[Any]:
        return capped_counts(self._table, counters, ttl)

    def _shards_to_try(self, now: float, tier: SendTier) -> list[int]:
        """The tier's budget shards not known to be full this window, in random order; when
        all are, one at random (it answers the refusal, and finds a count given back since)."""
        window = window_start(now, self._caps.window_secs)
        count = len(budget_shard_caps(self._caps, tier))
        with self._lock:
            full = self._full_shards if self._full_window == window else set()
            shards = [shard for shard in range(count) if (tier, shard) not in full]
        _random.shuffle(shards)
        return shards or [secrets.randbelow(count)]

    def _mark_full(self, now: float, tier: SendTier, shard: int) -> None:
        window = window_start(now, self._caps.window_secs)
        with self._lock:
            if self._full_window != window:
                self._full_window, self._full_shards = window, set()
            self._full_shards.add((tier, shard))

    def _refused(
        self, layers: list[str], now: float, tier: SendTier, *, at_risk: bool = False
    ) -> Exception:
        error = refusal(layers, self._caps, now, at_risk=at_risk)
        for layer in layers:
            self._metric(METRIC_REFUSED.format(layer=layer))
        if isinstance(error, SendBudgetExhausted):
            self._metric(METRIC_BUDGET_EXHAUSTED)
            self._metric(METRIC_TIER_EXHAUSTED.format(tier=tier))
            logger.error(
                "SMS budget of a tier exhausted: its sends refused until the window ends",
                extra={"tier": tier.value},
            )
        else:
            logger.warning("send refused", extra={"layers": layers, "tier": tier.value})
        return error

    def release(self, permit: SendPermit) -> None:
        """One less in each counter of `permit` (never below zero). The keys name their
        window, so a release after the window changed touches the window it counted in.

        Best effort: it runs while a Telnyx failure is being answered (502), which a
        DynamoDB failure here must not turn into a 503; a count not given back only errs on
        the safe side."""
        give_back(self._client, self._table, permit.keys)
        if permit.prefix_key is not None and self._fraud is not None:
            self._fraud.give_back(permit.prefix_key)
