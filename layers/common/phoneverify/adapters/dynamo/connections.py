"""The connections table: which WebSocket connections watch which flow (docs/realtime.md).

Two kinds of item, both with a TTL no later than the watched code's expiry:

- `flow#<sha256 of the flow id>`: `connections` (a string set of connection ids) and `ttl`.
  $connect adds to it; $disconnect and a push that finds the connection gone remove from it.
- `connection#<connection id>`: `flow_key`, `connected_at` and `ttl`, written by $connect,
  read by $disconnect (whose event names the connection only) to find the flow. A push that
  finds a connection gone forgets it only once `connected_at` is older than a $connect can
  last: a younger one may not be open yet (`drop`).

The flow id itself is never stored, as in the verifications table. A flow's watchers are one
consistent GetItem; the cap on them is the condition of the write that adds one.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONFLICT,
    delete,
    read_item,
    to_item,
    transact_write,
    update_request,
)

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

NAMES = {"#ttl": "ttl"}
CONFLICT_RETRIES = 3  # a page, a reload and a second tab connecting in the same instant


def flow_pk(flow_key: str) -> str:
    return f"flow#{flow_key}"


def connection_pk(connection_id: str) -> str:
    return f"connection#{connection_id}"


def live_watchers(row: Mapping[str, Any] | None, now: float) -> tuple[str, ...]:
    """The connection ids of a flow's item (plain values), sorted; none once it outlived its
    ttl (expiry checked on read: TTL deletion lags by up to two days)."""
    if row is None or float(row.get("ttl", 0)) <= now:
        return ()
    return tuple(sorted(str(cid) for cid in row.get("connections", set())))


def watched_by_check(
    table: str, flow_key: str, connection_ids: Sequence[str], now: float
) -> dict[str, Any]:
    """A transaction's `ConditionCheck` that the flow's live watchers are exactly
    `connection_ids` (none: no item, an outlived one, or an empty set). When it fails it
    returns the item as it is (ALL_OLD), whose live_watchers are the ones to expect next: the
    watchers a write learns this way are the ones at its own commit, with no read."""
    values: dict[str, Any] = {":now": now}
    if connection_ids:
        values[":n"] = len(connection_ids)
        members = []
        for i, connection_id in enumerate(connection_ids):
            values[f":c{i}"] = connection_id
            members.append(f"contains(connections, :c{i})")
        condition = f"#ttl > :now AND size(connections) = :n AND {' AND '.join(members)}"
    else:
        condition = "attribute_not_exists(pk) OR #ttl <= :now OR attribute_not_exists(connections)"
    return {
        "TableName": table,
        "Key": to_item({"pk": flow_pk(flow_key)}),
        "ConditionExpression": condition,
        "ExpressionAttributeNames": NAMES,
        "ExpressionAttributeValues": to_item(values),
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


class DynamoWatcherRegistry:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def add(self, flow_key: str, connection_id: str, *, ttl: int, cap: int, now: float) -> bool:
        pointer = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(
                    {
                        "pk": connection_pk(connection_id),
                        "flow_key": flow_key,
                        "connected_at": now,
                        "ttl": ttl,
                    }
                ),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        ids = {":ids": {connection_id}, ":ttl": ttl, ":now": now}
        # A live flow item below the cap takes one more (and keeps the later ttl) ...
        join = update_request(
            self._table,
            {"pk": flow_pk(flow_key)},
            "ADD connections :ids SET #ttl = :ttl",
            "attribute_not_exists(pk) OR (#ttl > :now AND "
            "(attribute_not_exists(connections) OR size(connections) < :cap))",
            {**ids, ":cap": cap},
            NAMES,
        )
        if self._transact([{"Update": join}, pointer]):
            return True
        # ... and one that outlived its ttl (TTL deletion lags) starts over with this one.
        restart = update_request(
            self._table,
            {"pk": flow_pk(flow_key)},
            "SET connections = :ids, #ttl = :ttl",
            "#ttl <= :now",
            ids,
            NAMES,
        )
        return self._transact([{"Update": restart}, pointer])

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        """True when the transaction went through; False when a condition did not hold.
        Concurrent connects to one flow conflict: the loser is tried again."""
        for _ in range(CONFLICT_RETRIES):
            reasons = transact_write(self._client, items)
            if reasons is None:
                return True
            if REASON_CONFLICT not in reasons:
                return False
        return False

    def remove(self, connection_id: str, now: float) -> None:
        row = read_item(self._client, self._table, {"pk": connection_pk(connection_id)})
        if row is None:
            return  # never registered (a refused $connect), or already forgotten
        self.drop(str(row["flow_key"]), connection_id)

    def drop(
        self, flow_key: str, connection_id: str, *, connected_before: float | None = None
    ) -> None:
        pointer = to_item(self._pointer(connection_id))
        forget: dict[str, Any] = {"TableName": self._table, "Key": pointer}
        if connected_before is not None:
            # Only a connection past its $connect: the pointer's write time is the condition.
            forget["ConditionExpression"] = (
                "attribute_exists(pk) AND "
                "(attribute_not_exists(connected_at) OR connected_at < :before)"
            )
            forget["ExpressionAttributeValues"] = to_item({":before": connected_before})
        leave = update_request(
            self._table,
            {"pk": flow_pk(flow_key)},
            "DELETE connections :ids",
            "attribute_exists(pk)",
            {":ids": {connection_id}},
        )
        reasons = transact_write(self._client, [{"Update": leave}, {"Delete": forget}])
        if reasons is None or (connected_before is not None and reasons[1] != "None"):
            # Dropped; or (the pointer's condition) too young to be gone, or forgotten already.
            return
        # The flow item is gone already (TTL): the pointer alone is left to forget.
        delete(self._client, self._table, self._pointer(connection_id))

    def watchers(self, flow_key: str, now: float) -> list[str]:
        row = read_item(self._client, self._table, {"pk": flow_pk(flow_key)})
        return list(live_watchers(row, now))

    @staticmethod
    def _pointer(connection_id: str) -> dict[str, Any]:
        return {"pk": connection_pk(connection_id)}
