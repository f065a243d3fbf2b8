"""EmailLimits on RateLimitsTable (domain/email_limits.py): one transaction counts an email in
its address's, its source's and the budget's counters, each below its cap, and checks the
address is not suppressed; the day's "someone tried" mark is one conditional PutItem; a
suppression is one conditional PutItem with no TTL (it lasts)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.send_limits import TTL_MARGIN_SECS, capped_counts, give_back
from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    conflicts_after_cancellation,
    put_new,
    to_item,
    transact_write_items,
)
from phoneverify.domain.clock import Clock
from phoneverify.domain.email_limits import (
    METRIC_EMAIL_ADMITTED,
    METRIC_EMAIL_BUDGET_EXHAUSTED,
    METRIC_EMAIL_REFUSED,
    METRIC_EMAIL_SUPPRESSED,
    EmailCaps,
    email_counters,
    email_refusal,
    suppression_key,
    tried_key,
    tried_ttl,
)
from phoneverify.domain.errors import (
    EmailBudgetExhausted,
    EmailUndeliverable,
)
from phoneverify.domain.models import RequestOrigin, SendPermit
from phoneverify.domain.send_limits import window_start
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

logger = Logger(child=True)


def _noop_metric(name: str) -> None:
    return None


class DynamoEmailLimits:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        caps: EmailCaps,
        clock: Clock,
        metric: Callable[[str], None] = _noop_metric,
    ) -> None:
        self._client = client
        self._table = table
        self._caps = caps
        self._clock = clock
        self._metric = metric

    def admit_email(self, address: str, origin: RequestOrigin) -> SendPermit:
        now = self._clock.now()
        counters = email_counters(self._caps, address, origin, now)
        ttl = window_start(now, self._caps.window_secs) + self._caps.window_secs + TTL_MARGIN_SECS
        suppressed = {
            "ConditionCheck": {
                "TableName": self._table,
                "Key": to_item({"pk": suppression_key(address)}),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        counts = capped_counts(self._table, counters, ttl)
        conflicts = 0
        while True:
            # The token makes botocore's own retries of one attempt idempotent.
            cancelled = transact_write_items(
                self._client, [suppressed, *counts], token=str(uuid.uuid4())
            )
            if cancelled is None:
                self._metric(METRIC_EMAIL_ADMITTED)
                return SendPermit(tuple(key for _, key, _ in counters))
            reasons = [reason.code for reason in cancelled]
            if reasons[0] == REASON_CONDITION_FAILED:
                self._metric(METRIC_EMAIL_SUPPRESSED)
                raise EmailUndeliverable()
            refused = [
                layer
                for (layer, _, _), reason in zip(counters, reasons[1:], strict=False)
                if reason == REASON_CONDITION_FAILED
            ]
            if refused:
                raise self._refused(refused, now)
            conflicts = conflicts_after_cancellation(reasons, conflicts, "email limits")

    def _refused(self, layers: list[str], now: float) -> Exception:
        error = email_refusal(layers, self._caps, now)
        for layer in layers:
            self._metric(METRIC_EMAIL_REFUSED.format(layer=layer))
        if isinstance(error, EmailBudgetExhausted):
            self._metric(METRIC_EMAIL_BUDGET_EXHAUSTED)
            logger.error("email budget exhausted: every email refused until the window ends")
        else:
            logger.warning("email refused", extra={"layers": layers})
        return error

    def release(self, permit: SendPermit) -> None:
        give_back(self._client, self._table, permit.keys)

    def first_try_today(self, address: str) -> bool:
        now = self._clock.now()
        item = {"pk": tried_key(address, now), "ttl": tried_ttl(now, TTL_MARGIN_SECS)}
        try:
            put_new(self._client, self._table, item, "pk")
        except ConditionFailed:
            return False
        return True

    def suppress(self, address: str, reason: str, now: float) -> bool:
        item = {"pk": suppression_key(address), "reason": reason, "suppressed_at": int(now)}
        try:
            put_new(self._client, self._table, item, "pk")
        except ConditionFailed:
            return False
        return True
