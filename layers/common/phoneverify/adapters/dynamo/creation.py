"""Creating an item under a fresh random key (a flow, a payment) when DynamoDB may have made
the write before answering 500: the SDK's retry then finds the item, and only an item that is
ours counts as done."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import dynamodb_errors, from_item, to_item
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any


def put_new_once(
    client: DynamoDBClient,
    table: str,
    values: Mapping[str, Any],
    key: str,
    identity: Sequence[str],
) -> None:
    """Write the item of plain `values` only if no item has its `key`: an item found there
    with the same `identity` (attributes that no later write changes) is our own write, which
    DynamoDB made before a 500 the SDK retried. Another writer may have updated the rest of it
    between the two attempts (the delivery webhook of a flow whose code went out before it was
    written), so the whole item is not compared. ConditionFailed for any other item."""
    item = to_item(values)
    try:
        with dynamodb_errors():
            client.put_item(
                TableName=table,
                Item=item,
                ConditionExpression=f"attribute_not_exists({key})",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
    except ConditionFailed as failed:  # numbers compared as numbers: DynamoDB rewrites 0.0 as 0
        found, ours = from_item(failed.item or {}), from_item(item)
        if not found or any(found.get(name) != ours.get(name) for name in (key, *identity)):
            raise
