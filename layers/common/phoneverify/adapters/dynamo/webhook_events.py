"""The webhook ledger: provider event ids already taken in, so a redelivery is processed once.

One item per event id in the WebhookEventsTable, written only if absent; DynamoDB's TTL deletes
it after the retention period (longer than any provider retries for).
"""

from __future__ import annotations

import contextlib
import math
from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import delete, put_new
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.ports import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any


class DynamoWebhookEventLedger:
    def __init__(
        self, client: DynamoDBClient, table: str, retention_secs: int, *, source: str = "telnyx"
    ) -> None:
        self._client = client
        self._table = table
        self._retention = retention_secs
        self._source = source

    def _key(self, event_id: str) -> dict[str, Any]:
        return {"pk": f"{self._source}#{event_id}"}

    def claim(self, event_id: str, now: float) -> bool:
        item = {
            **self._key(event_id),
            "received_at": int(now),
            "ttl": math.ceil(now + self._retention),
        }
        try:
            put_new(self._client, self._table, item, "pk")
        except ConditionFailed:
            return False
        return True

    def release(self, event_id: str) -> None:
        # Best effort: if this fails too, the provider's retry is answered as a duplicate.
        with contextlib.suppress(StorageUnavailable):
            delete(self._client, self._table, self._key(event_id))
