"""The fraud guard on RateLimitsTable (rules: domain/fraud.py; docs/abuse-controls.md).

What a code to an unproven number must pass rides in the send limits' one transaction, at no
extra round trip (`transaction_items`): a ConditionCheck that its prefix is not held, one that
its country is not held, and the prefix's counter for the window (`ADD sent 1, deficit x`)
under the condition that the prefix is not over the rule. A refusal by the counter is the
moment a prefix trips: `hold` then writes the hold (and, when enough of a country's prefixes
were held in the window, the country's), best effort.

The detector fails open on its own storage errors: the rules item unreadable (the last rules
read, or none), a hold or a verified count not written (logged). The limits themselves never
fail open: the transaction the detector rides in is theirs.

Items: `prefix#<prefix>#<window>` (sent, verified, deficit, ttl), `hold#prefix#<prefix>` and
`hold#country#<CC>` (until, held_at, reason, ttl), `heldprefixes#<CC>#<window>` (held, ttl),
and the operators' `rules#fraud` (string sets, version: the admin command writes it).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.toolkit import (
    TransactionCheck,
    conditional_update,
    dynamodb_errors,
    from_item,
    to_item,
)
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.fraud import (
    HOLD_COUNTRY,
    HOLD_PREFIX,
    RULES_KEY,
    Destination,
    FraudPolicy,
    FraudRules,
    Hold,
    PrefixTripped,
    destination,
    ensure_not_denied,
    held,
    held_prefixes_key,
    hold_key,
    hold_until,
    prefix_counter_key,
    window_of,
)
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)

# Counters outlive their window a little; holds stay readable a day after they end, for
# operators (`make admin ARGS="holds list"`), and are checked by `until`, never by TTL.
COUNTER_TTL_MARGIN_SECS = 3_600
HOLD_TTL_MARGIN_SECS = 86_400
METRIC_PREFIX_HELD = "PrefixHeld"
METRIC_COUNTRY_HELD = "CountryHeld"
NAMES = {
    "#sent": "sent",
    "#verified": "verified",
    "#deficit": "deficit",
    "#ttl": "ttl",
    "#until": "until",
    "#held_at": "held_at",
    "#reason": "reason",
    "#held_count": "held",
}


def _noop_metric(name: str) -> None:
    return None


class DynamoFraudGuard:
    """PrefixGuard, and the items the send limits' transaction carries for it."""

    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        policy: FraudPolicy,
        clock: Clock,
        *,
        rules_max_age_secs: float = 60,
        metric: Callable[[str], None] = _noop_metric,
    ) -> None:
        self._client = client
        self._table = table
        self.policy = policy
        self._clock = clock
        self._max_age = rules_max_age_secs
        self._metric = metric
        self._lock = threading.Lock()
        self._rules: FraudRules | None = None
        self._rules_read_at = float("-inf")

    # -- the operators' lists --------------------------------------------------------------
    def rules(self) -> FraudRules:
        """The `rules#fraud` item, read at most once per `rules_max_age_secs` (so operators'
        changes take effect within that, without a deploy). Unreadable: the last rules read,
        or none (fail open)."""
        now = self._clock.now()
        with self._lock:
            if self._rules is not None and now - self._rules_read_at < self._max_age:
                return self._rules
        try:
            with dynamodb_errors():
                answer = self._client.get_item(
                    TableName=self._table, Key=to_item({"pk": RULES_KEY}), ConsistentRead=False
                )
            rules = FraudRules.from_item(from_item(answer["Item"]) if "Item" in answer else None)
        except StorageUnavailable:
            logger.warning("fraud rules unreadable: the last ones read stay in force")
            rules = self._rules or FraudRules()
        with self._lock:
            self._rules, self._rules_read_at = rules, now
        return rules

    # -- at a send -------------------------------------------------------------------------
    def transaction_items(
        self, phone_number: str, now: float, *, vouched: bool = False
    ) -> list[TransactionCheck]:
        """What a code to unproven `phone_number` must pass, as items of the send limits'
        transaction (checks first: a hold answers before the counter trips). Raises
        PhoneNotAllowed for a destination operators deny. An allowed destination is neither
        counted nor held. `vouched` (a solved challenge came): counted, never refused."""
        where = destination(phone_number, self.policy)
        rules = self.rules()
        ensure_not_denied(rules, where)
        if rules.allows(where):
            return []
        counter = self._counter(where, now, vouched=vouched)
        if vouched:
            return [counter]
        return [
            self._hold_check(HOLD_PREFIX, where.prefix, now),
            self._hold_check(HOLD_COUNTRY, where.country, now),
            counter,
        ]

    def _hold_check(self, scope: str, target: str, now: float) -> TransactionCheck:
        body = {
            "TableName": self._table,
            "Key": to_item({"pk": hold_key(scope, target)}),
            "ConditionExpression": "attribute_not_exists(#until) OR #until <= :now",
            "ExpressionAttributeNames": {"#until": "until"},
            "ExpressionAttributeValues": to_item({":now": now}),
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

        def refusal(item: dict[str, Any] | None) -> Exception:
            until = float(item["until"]) if item and "until" in item else None
            return held(until, now, self.policy)

        return TransactionCheck(body, refusal)

    def _counter(self, where: Destination, now: float, *, vouched: bool) -> TransactionCheck:
        window = window_of(now, self.policy)
        body: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"pk": prefix_counter_key(where.prefix, window)}),
            "UpdateExpression": "ADD #sent :one, #deficit :step SET #ttl = :ttl",
            "ExpressionAttributeNames": {"#sent": "sent", "#deficit": "deficit", "#ttl": "ttl"},
        }
        values: dict[str, Any] = {
            ":one": 1,
            ":step": self.policy.min_conversion_percent,
            ":ttl": window + self.policy.window_secs + COUNTER_TTL_MARGIN_SECS,
        }
        if not vouched:
            # Under the rule: fewer than min_codes sent, or at least the share entered.
            body["ConditionExpression"] = (
                "attribute_not_exists(#sent) OR #sent < :min OR #deficit <= :zero"
            )
            values.update({":min": self.policy.min_codes, ":zero": 0})
        body["ExpressionAttributeValues"] = to_item(values)
        retry = self.policy.hold_secs
        return TransactionCheck(body, lambda _: PrefixTripped(where, retry), operation="Update")

    # -- PrefixGuard -----------------------------------------------------------------------
    def hold(self, tripped: PrefixTripped) -> list[Hold]:
        """Hold the prefix that tripped, and its country when enough of its prefixes were held
        in this window (never an allowed country). The holds this call placed (none when a
        concurrent send placed it first). Best effort: a storage error is logged and the
        send is refused all the same."""
        now = self._clock.now()
        where = tripped.where
        placed: list[Hold] = []
        try:
            prefix_hold = self._place(HOLD_PREFIX, where.prefix, now)
            if prefix_hold is None:
                return placed
            placed.append(prefix_hold)
            self._metric(METRIC_PREFIX_HELD)
            if where.country in self.rules().allow_countries:
                return placed
            window = window_of(now, self.policy)
            counted = conditional_update(
                self._client,
                self._table,
                {"pk": held_prefixes_key(where.country, window)},
                "ADD #held_count :one SET #ttl = :ttl",
                "attribute_not_exists(#held_count) OR #held_count >= :zero",
                {
                    ":one": 1,
                    ":zero": 0,
                    ":ttl": window + self.policy.window_secs + COUNTER_TTL_MARGIN_SECS,
                },
                names=NAMES,
                returns="UPDATED_NEW",
            )
            if int(counted["held"]) >= self.policy.country_min_prefixes:
                country_hold = self._place(HOLD_COUNTRY, where.country, now)
                if country_hold is not None:
                    placed.append(country_hold)
                    self._metric(METRIC_COUNTRY_HELD)
        except (StorageUnavailable, ConditionFailed):
            logger.warning("hold not written", extra={"scope": HOLD_PREFIX})
        return placed

    def _place(self, scope: str, target: str, now: float) -> Hold | None:
        """The hold, unless one is in force already (then None)."""
        until = hold_until(now, self.policy)
        try:
            conditional_update(
                self._client,
                self._table,
                {"pk": hold_key(scope, target)},
                "SET #until = :until, #held_at = :now, #reason = :reason, #ttl = :ttl",
                "attribute_not_exists(#until) OR #until <= :now",
                {
                    ":until": until,
                    ":now": now,
                    ":reason": "pumping",
                    ":ttl": until + HOLD_TTL_MARGIN_SECS,
                },
                names=NAMES,
            )
        except ConditionFailed:
            return None
        return Hold(scope, target, until)

    def give_back(self, counter_key: str) -> None:
        """A send Telnyx refused counts for its prefix no more (best effort, as
        DynamoSendLimits.release): an outage must not trip prefixes."""
        try:
            conditional_update(
                self._client,
                self._table,
                {"pk": counter_key},
                "ADD #sent :minus_one, #deficit :minus_step",
                "#sent > :zero",
                {":minus_one": -1, ":minus_step": -self.policy.min_conversion_percent, ":zero": 0},
                names=NAMES,
            )
        except (ConditionFailed, StorageUnavailable):
            logger.warning("prefix count not given back")

    def count_verified(self, phone_number: str, sent_at: float) -> None:
        """A code to `phone_number` sent at `sent_at` was entered: it counts for its prefix in
        the window it was sent in. Best effort (fail open): a count lost errs towards a hold,
        which a solved challenge or an operator lifts."""
        where = destination(phone_number, self.policy)
        window = window_of(sent_at, self.policy)
        try:
            conditional_update(
                self._client,
                self._table,
                {"pk": prefix_counter_key(where.prefix, window)},
                "ADD #verified :one, #deficit :minus",
                "attribute_exists(#sent)",  # an allowed prefix is not counted
                {":one": 1, ":minus": -100},
                names=NAMES,
            )
        except ConditionFailed:
            return
        except StorageUnavailable:
            logger.warning("prefix conversion not counted: one entered sign-up missing")
