"""The webhook ledger: provider event ids already taken in, so a redelivery is processed once.

One item per event id in the WebhookEventsTable, written only if absent; DynamoDB's TTL deletes
it after the retention period (longer than any provider retries for).

A delivery report's claim is written in one TransactWriteItems with what the report changes
(docs/webhooks.md): the claim (`Put`, only if absent), the flow's move forward (`Update` of
VerificationsTable, conditional) and a `ConditionCheck` of the flow's live-status watchers in
the connections table. All or nothing: a claim never stands without its report applied, so a
failure leaves Telnyx's retry to do it all. The watchers check is how the push learns, at the
very commit, who watches the flow: it expects none first; when some watch, it fails with their
item and the write is made again expecting them.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.connections import live_watchers, watched_by_check
from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    REASON_CONFLICT,
    pause_after_conflict,
    put_new,
    to_item,
    transact_write_items,
)
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import DeliveryStatus
from phoneverify.ports.conditions import ConditionFailed
from phoneverify.ports.verifications import DeliveryWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from phoneverify.adapters.dynamo.verifications import DynamoVerificationStore
else:
    DynamoDBClient = Any

# Transactions one report may take: the first, one more when watchers are found (or changed
# in between), and a retry of a conflict with a concurrent write on one of its items.
WRITE_TRIES = 4
CLAIM, MOVE, WATCHERS = 0, 1, 2  # the items of a report's transaction, in order


class DynamoWebhookEventLedger:
    def __init__(
        self,
        client: DynamoDBClient,
        table: str,
        retention_secs: int,
        *,
        flows: DynamoVerificationStore,
        connections_table: str,
        source: str = "telnyx",
    ) -> None:
        self._client = client
        self._table = table
        self._retention = retention_secs
        self._flows = flows
        self._connections = connections_table
        self._source = source

    def _item(self, event_id: str, now: float) -> dict[str, Any]:
        return {
            "pk": f"{self._source}#{event_id}",
            "received_at": int(now),
            "ttl": math.ceil(now + self._retention),
        }

    def claim(self, event_id: str, now: float) -> bool:
        try:
            put_new(self._client, self._table, self._item(event_id, now), "pk")
        except ConditionFailed:
            return False
        return True

    def record(
        self,
        event_id: str,
        flow_key: str,
        verification_id: str,
        delivery: DeliveryStatus,
        now: float,
    ) -> DeliveryWrite:
        move = self._flows.delivery_update(flow_key, verification_id, delivery, now)
        if move is None:
            return DeliveryWrite(duplicate=False, recorded=False)
        claim = {
            "TableName": self._table,
            "Item": to_item(self._item(event_id, now)),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        watchers: tuple[str, ...] = ()
        for attempt in range(1, WRITE_TRIES + 1):
            check = watched_by_check(self._connections, flow_key, watchers, now)
            cancelled = transact_write_items(
                self._client, [{"Put": claim}, {"Update": move}, {"ConditionCheck": check}]
            )
            if cancelled is None:
                return DeliveryWrite(duplicate=False, recorded=True, watchers=watchers)
            codes = [reason.code for reason in cancelled]
            if len(codes) != len((CLAIM, MOVE, WATCHERS)):
                raise StorageUnavailable()  # no reason per item: nothing known was written
            if codes[CLAIM] == REASON_CONDITION_FAILED:
                return DeliveryWrite(duplicate=True, recorded=False)
            if codes[MOVE] == REASON_CONDITION_FAILED:
                return DeliveryWrite(duplicate=False, recorded=False)
            if codes[WATCHERS] == REASON_CONDITION_FAILED:
                watchers = live_watchers(cancelled[WATCHERS].item, now)
            elif REASON_CONFLICT in codes:
                pause_after_conflict(attempt)  # a concurrent write held an item: again, later
            else:
                raise StorageUnavailable()  # throttled, or anything else: nothing written
        raise StorageUnavailable()  # still contended: Telnyx retries the whole report
