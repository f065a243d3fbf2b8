"""The DynamoDB toolkit every adapter uses: the error funnel (ClientError codes become domain
outcomes here and nowhere else), attribute values through boto3's TypeSerializer, and the one
conditional-update helper."""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

from aws_lambda_powertools import Logger
from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from phoneverify.domain.errors import (
    StorageUnavailable,
)
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)

CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELED = "TransactionCanceledException"
# CancellationReasons codes, one per item of a cancelled transaction
REASON_CONDITION_FAILED = "ConditionalCheckFailed"
REASON_CONFLICT = "TransactionConflict"
# Reasons that mean DynamoDB could not take the transaction now: answered as an outage.
UNAVAILABLE_REASONS = {"ThrottlingError", "ProvisionedThroughputExceeded", "RequestLimitExceeded"}
# A transaction that keeps meeting concurrent ones on its items is tried this often, then 503.
CONFLICT_RETRIES = 8
# Global secondary index of VerificationsTable (KEYS_ONLY): flows by their current Telnyx id.
VERIFICATION_ID_INDEX = "verification_id-index"
# A plain write of an item a transaction holds at that moment is refused with
# TransactionConflictException: a moment's contention, answered as an outage is.
UNAVAILABLE = {
    "TransactionConflictException",
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}


@contextmanager
def dynamodb_errors() -> Iterator[None]:
    """Throttling and outages become StorageUnavailable; a failed condition, ConditionFailed."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == CONDITION_FAILED:
            old = exc.response.get("Item")
            raise ConditionFailed(old if isinstance(old, dict) else None) from exc
        if code in UNAVAILABLE:
            raise StorageUnavailable() from exc
        raise
    except BotoCoreError as exc:  # connection errors, timeouts
        raise StorageUnavailable() from exc


_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def av(value: Any) -> dict[str, Any]:
    """The DynamoDB attribute value of `value` (floats go through their shortest decimal)."""
    return _SERIALIZER.serialize(_decimals(value))  # type: ignore[return-value]


def plain(attribute: Mapping[str, Any]) -> Any:
    """The Python value of a DynamoDB attribute value (numbers come back as Decimal)."""
    return _DESERIALIZER.deserialize(attribute)  # type: ignore[arg-type]


def to_item(values: Mapping[str, Any]) -> dict[str, Any]:
    """A DynamoDB item of plain values (None values are left out)."""
    return {name: av(value) for name, value in values.items() if value is not None}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    """The plain values of a DynamoDB item (numbers as Decimal, maps as dicts)."""
    return {name: plain(value) for name, value in item.items()}


def _decimals(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, Mapping):
        return {k: _decimals(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_decimals(v) for v in value]
    return value


Returns = Literal["NONE", "UPDATED_NEW", "ALL_NEW", "ALL_OLD"]


def update_request(
    table: str,
    key: Mapping[str, Any],
    update: str,
    condition: str,
    values: Mapping[str, Any],
    names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The body of one conditional update (an UpdateItem, or an `Update` of a transaction):
    `key` and `values` are plain values. Only the `names` the expressions use are sent:
    DynamoDB refuses the others."""
    expressions = f"{update} {condition}"
    request: dict[str, Any] = {
        "TableName": table,
        "Key": to_item(key),
        "UpdateExpression": update,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": to_item(values),
    }
    used = {name: attr for name, attr in (names or {}).items() if name in expressions}
    if used:
        request["ExpressionAttributeNames"] = used
    return request


def status_in(statuses: Sequence[StrEnum]) -> tuple[str, dict[str, Any]]:
    """The test that `#status` is one of `statuses` (a lifecycle's from-statuses), and the
    values it reads, each named by itself (`#status = :pending`)."""
    values = {f":{status.value}": status.value for status in statuses}
    if len(values) == 1:
        return f"#status = {next(iter(values))}", values
    return "#status IN ({})".format(", ".join(values)), values


def conditional_update(
    client: DynamoDBClient,
    table: str,
    key: Mapping[str, Any],
    update: str,
    condition: str,
    values: Mapping[str, Any],
    *,
    names: Mapping[str, str] | None = None,
    returns: Returns = "NONE",
    old_on_failure: bool = False,
) -> dict[str, Any]:
    """One conditional UpdateItem through the error funnel, of plain `key` and `values`: the
    attributes `returns` asks for (plain values), or ConditionFailed, carrying the item as it
    was (plain values) when `old_on_failure`."""
    request = update_request(table, key, update, condition, values, names)
    request["ReturnValues"] = returns
    if old_on_failure:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    try:
        with dynamodb_errors():
            response = client.update_item(**request)
    except ConditionFailed as refused:
        raise ConditionFailed(None if refused.item is None else from_item(refused.item)) from None
    return from_item(response.get("Attributes", {}))


def count_down_request(table: str, key: Mapping[str, Any], counter: str) -> dict[str, Any]:
    """The conditional update that takes one from `counter`, never below zero (an UpdateItem,
    or an `Update` of a transaction)."""
    return update_request(
        table,
        key,
        "ADD #counter :minus_one",
        "#counter > :zero",
        {":minus_one": -1, ":zero": 0},
        {"#counter": counter},
    )


def count_down(client: DynamoDBClient, table: str, key: Mapping[str, Any], counter: str) -> None:
    """One less in `counter`, never below zero (ConditionFailed when it is at zero or gone):
    how a count reserved for something that did not happen is given back."""
    with dynamodb_errors():
        client.update_item(**count_down_request(table, key, counter))


def read_item(client: DynamoDBClient, table: str, key: Mapping[str, Any]) -> dict[str, Any] | None:
    """The item under the plain `key`, read consistently, as plain values (None if absent)."""
    with dynamodb_errors():
        item = client.get_item(TableName=table, Key=to_item(key), ConsistentRead=True).get("Item")
    return None if item is None else from_item(item)


def put_new(client: DynamoDBClient, table: str, values: Mapping[str, Any], key_name: str) -> None:
    """Write the item of plain `values` only if no item has its key (ConditionFailed else)."""
    with dynamodb_errors():
        client.put_item(
            TableName=table,
            Item=to_item(values),
            ConditionExpression=f"attribute_not_exists({key_name})",
        )


def query_first(
    client: DynamoDBClient,
    table: str,
    index: str,
    key_condition: str,
    values: Mapping[str, Any],
    limit: int,
    names: Mapping[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Up to `limit` items of one Query of `index`, in its sort key's order (plain values)."""
    request: dict[str, Any] = {
        "TableName": table,
        "IndexName": index,
        "KeyConditionExpression": key_condition,
        "ExpressionAttributeValues": to_item(values),
        "Limit": limit,
    }
    if names:
        request["ExpressionAttributeNames"] = dict(names)
    with dynamodb_errors():
        items = client.query(**request).get("Items", [])
    return [from_item(item) for item in items]


def delete(
    client: DynamoDBClient, table: str, key: Mapping[str, Any], *, condition: str | None = None
) -> None:
    """Delete the item under the plain `key` (if `condition` holds: ConditionFailed else)."""
    request: dict[str, Any] = {"TableName": table, "Key": to_item(key)}
    if condition is not None:
        request["ConditionExpression"] = condition
    with dynamodb_errors():
        client.delete_item(**request)


@dataclass(frozen=True)
class Cancellation:
    """Why one item of a cancelled transaction was not written: its reason code ("None" when
    it was not the cause), and the item as it was (plain values) when its condition failed
    and it asked for it (ReturnValuesOnConditionCheckFailure ALL_OLD; None when absent)."""

    code: str
    item: dict[str, Any] | None = None


def transact_write(
    client: DynamoDBClient, items: list[dict[str, Any]], *, token: str | None = None
) -> list[str] | None:
    """One TransactWriteItems through the error funnel: None when it went through, else the
    cancellation reason of each item, in order ("None" for an item that was not the cause).
    `token` (ClientRequestToken) makes botocore's own retries of one call idempotent."""
    cancelled = transact_write_items(client, items, token=token)
    return None if cancelled is None else [reason.code for reason in cancelled]


def transact_write_retrying(
    client: DynamoDBClient, items: list[dict[str, Any]]
) -> list[str] | None:
    """transact_write, once more after a short pause when another transaction held one of the
    items (a race the retry then answers by its conditions)."""
    reasons = transact_write(client, items)
    if reasons is not None and REASON_CONFLICT in reasons:
        time.sleep(0.02 + secrets.randbelow(80) / 1000)
        reasons = transact_write(client, items)
    return reasons


def transact_write_items(
    client: DynamoDBClient, items: list[dict[str, Any]], *, token: str | None = None
) -> list[Cancellation] | None:
    """transact_write, answering each cancelled item's reason with the item it found."""
    request: dict[str, Any] = {"TransactItems": items}
    if token is not None:
        request["ClientRequestToken"] = token
    with dynamodb_errors():
        try:
            client.transact_write_items(**request)
            return None
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") != TRANSACTION_CANCELED:
                raise
            cancellation: list[Any] = exc.response.get("CancellationReasons", [])
            return [
                Cancellation(
                    str(reason.get("Code") or "None"),
                    from_item(reason["Item"]) if reason.get("Item") else None,
                )
                for reason in cancellation
            ]


def conflicts_after_cancellation(reasons: list[str], conflicts: int, transaction: str) -> int:
    """After a transaction cancelled for no condition of its own: StorageUnavailable when
    DynamoDB could not take it (throttled), when it was cancelled for another reason (logged,
    naming the `transaction`), or when this is its CONFLICT_RETRIES-th conflict; otherwise a
    pause (pause_after_conflict), and the conflicts counted so far, for the next try."""
    if any(reason in UNAVAILABLE_REASONS for reason in reasons):
        raise StorageUnavailable()
    if REASON_CONFLICT not in reasons:
        logger.error(f"{transaction} transaction cancelled", extra={"reasons": reasons})
        raise StorageUnavailable()
    conflicts += 1
    if conflicts >= CONFLICT_RETRIES:
        raise StorageUnavailable()
    pause_after_conflict(conflicts)
    return conflicts


def pause_after_conflict(conflicts: int) -> None:
    """Before trying again a transaction cancelled because another one held one of its items
    (TransactionConflict) for the `conflicts`-th time: a pause growing from 20 ms to 200 ms,
    jittered (x0.5 to x1.5) so the racers do not meet again."""
    time.sleep(min(0.2, 0.01 * 2**conflicts) * (0.5 + secrets.randbelow(1000) / 1000))


@dataclass(frozen=True)
class TransactionCheck:
    """A ConditionCheck that rides in another adapter's transaction at no extra round trip,
    with what its failure answers: `refusal(item)` gets the item as the check found it (plain
    values; None when absent, or when the check did not ask for it with ALL_OLD). With
    `operation` "Update", a conditional update that rides the same way (the fraud guard's
    prefix counter: counted with the send, or refusing it)."""

    body: dict[str, Any]
    refusal: Callable[[dict[str, Any] | None], Exception]
    operation: str = "ConditionCheck"


class Table:
    """One table of one client, with the attribute names its expressions use (`#status`...):
    the conditional updates an adapter makes, without repeating where they go."""

    def __init__(
        self, client: DynamoDBClient, name: str, names: Mapping[str, str] | None = None
    ) -> None:
        self.client = client
        self.name = name
        self.names = dict(names or {})

    def update(
        self,
        key: Mapping[str, Any],
        update: str,
        condition: str,
        values: Mapping[str, Any],
        *,
        returns: Returns = "NONE",
        old_on_failure: bool = False,
    ) -> dict[str, Any]:
        """conditional_update on this table."""
        return conditional_update(
            self.client,
            self.name,
            key,
            update,
            condition,
            values,
            names=self.names,
            returns=returns,
            old_on_failure=old_on_failure,
        )

    def update_if_exists(
        self,
        key: Mapping[str, Any],
        update: str,
        condition: str,
        values: Mapping[str, Any],
        *,
        returns: Returns = "NONE",
    ) -> dict[str, Any] | None:
        """A conditional update of an item that exists: the attributes `returns` asks for, or
        None when the item is gone or `condition` did not hold (nothing was written)."""
        exists = " AND ".join(f"attribute_exists({name})" for name in key)
        try:
            return self.update(key, update, f"{exists} AND ({condition})", values, returns=returns)
        except ConditionFailed:
            return None
