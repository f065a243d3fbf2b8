"""Solved proofs of work already accepted, in RateLimitsTable: one item each, written by a
conditional PutItem, so a payload is accepted once however many requests carry it at once
(docs/abuse-controls.md#the-proof-of-work-gate)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import put_new
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

# pk = "altcha#<sha256 hex of the challenge and its signature>"
KEY_PREFIX = "altcha#"


class DynamoSpentProofs:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def spend(self, digest: str, expires_at: int) -> bool:
        """Record the proof `digest` as used until `expires_at` (epoch seconds, its TTL: after
        it the proof is refused as expired anyway). False when it was used before: nothing is
        written then. Raises StorageUnavailable."""
        item = {"pk": f"{KEY_PREFIX}{digest}", "ttl": int(expires_at)}
        try:
            put_new(self._client, self._table, item, "pk")
        except ConditionFailed:
            return False
        return True
