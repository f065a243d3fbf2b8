"""The DynamoDB toolkit every adapter uses: the error funnel (ClientError codes become domain
outcomes here and nowhere else), attribute values through boto3's TypeSerializer, and the one
conditional-update helper."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Literal

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import BotoCoreError, ClientError

from phoneverify.domain.errors import (
    StorageUnavailable,
)
from phoneverify.ports import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

CONDITION_FAILED = "ConditionalCheckFailedException"
TRANSACTION_CANCELED = "TransactionCanceledException"
# CancellationReasons codes, one per item of a cancelled transaction
REASON_CONDITION_FAILED = "ConditionalCheckFailed"
REASON_CONFLICT = "TransactionConflict"
# Global secondary index of VerificationsTable (KEYS_ONLY): flows by their current Telnyx id.
VERIFICATION_ID_INDEX = "verification_id-index"
UNAVAILABLE = {
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


def number(item: Mapping[str, Any], name: str) -> float:
    return float(plain(item[name]))


def conditional_update(
    client: DynamoDBClient,
    table: str,
    key: Mapping[str, Any],
    update: str,
    condition: str,
    values: Mapping[str, Any],
    *,
    names: Mapping[str, str] | None = None,
    returns: Literal["NONE", "UPDATED_NEW"] = "NONE",
    old_on_failure: bool = False,
) -> dict[str, Any]:
    """One conditional UpdateItem through the error funnel: the attributes `returns` asks for,
    or ConditionFailed (carrying the item as it was when `old_on_failure`). Only the `names`
    the expressions use are sent: DynamoDB refuses the others."""
    expressions = f"{update} {condition}"
    request: dict[str, Any] = {
        "TableName": table,
        "Key": dict(key),
        "UpdateExpression": update,
        "ConditionExpression": condition,
        "ExpressionAttributeValues": dict(values),
        "ReturnValues": returns,
    }
    used = {name: attr for name, attr in (names or {}).items() if name in expressions}
    if used:
        request["ExpressionAttributeNames"] = used
    if old_on_failure:
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    with dynamodb_errors():
        response = client.update_item(**request)
    return dict(response.get("Attributes", {}))
