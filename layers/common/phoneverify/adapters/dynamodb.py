"""DynamoDB repositories. ClientError codes become domain outcomes here and nowhere else."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from phoneverify.errors import StorageUnavailable
from phoneverify.models import FlowKind, FlowStatus, PendingVerification, User

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

CONDITION_FAILED = "ConditionalCheckFailedException"
UNAVAILABLE = {
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
    "ServiceUnavailable",
    "LimitExceededException",
}


class ConditionFailed(Exception):
    """A conditional write's condition did not hold; nothing was written."""


@contextmanager
def dynamodb_errors() -> Iterator[None]:
    """Throttling and outages become StorageUnavailable; a failed condition, ConditionFailed."""
    try:
        yield
    except ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "")
        if code == CONDITION_FAILED:
            raise ConditionFailed() from exc
        if code in UNAVAILABLE:
            raise StorageUnavailable() from exc
        raise
    except BotoCoreError as exc:  # connection errors, timeouts
        raise StorageUnavailable() from exc


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float | int) -> dict[str, str]:
    return {"N": str(Decimal(str(value)))}


def _num(item: dict[str, Any], name: str) -> float:
    return float(item[name]["N"])


class DynamoUserRepository:
    """Users are stored as `USER#<id>` items; `EMAIL#<email>` items point to them."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def find_by_email(self, email: str) -> User | None:
        with dynamodb_errors():
            pointer = self._client.get_item(
                TableName=self._table, Key={"pk": _s(f"EMAIL#{email}")}, ConsistentRead=True
            ).get("Item")
            if not pointer:
                return None
            item = self._client.get_item(
                TableName=self._table,
                Key={"pk": _s(f"USER#{pointer['user_id']['S']}")},
                ConsistentRead=True,
            ).get("Item")
        if not item:
            return None
        return User(
            user_id=item["user_id"]["S"],
            email=item["email"]["S"],
            password_hash=item["password_hash"]["S"],
            phone_number=item.get("phone_number", {}).get("S"),
            name=item.get("name", {}).get("S"),
        )

    def put_user(self, user: User, *, phone_verified_at: float | None = None) -> None:
        """Create a user with its email pointer, both only if absent (one transaction)."""
        item: dict[str, Any] = {
            "pk": _s(f"USER#{user.user_id}"),
            "user_id": _s(user.user_id),
            "email": _s(user.email),
            "password_hash": _s(user.password_hash),
        }
        if user.name:
            item["name"] = _s(user.name)
        if user.phone_number:
            item["phone_number"] = _s(user.phone_number)
            item["phone_verified"] = {"BOOL": phone_verified_at is not None}
            if phone_verified_at is not None:
                item["phone_verified_at"] = _n(int(phone_verified_at))
        absent = "attribute_not_exists(pk)"
        with dynamodb_errors():
            self._client.transact_write_items(
                TransactItems=[
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": item,
                            "ConditionExpression": absent,
                        }
                    },
                    {
                        "Put": {
                            "TableName": self._table,
                            "Item": {"pk": _s(f"EMAIL#{user.email}"), "user_id": _s(user.user_id)},
                            "ConditionExpression": absent,
                        }
                    },
                ]
            )


class DynamoVerificationStore:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    # -- reads -----------------------------------------------------------------------------
    def get(self, flow_key: str) -> PendingVerification | None:
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table, Key={"pk": _s(flow_key)}, ConsistentRead=True
            ).get("Item")
        return None if item is None else self._record(item)

    @staticmethod
    def _record(item: dict[str, Any]) -> PendingVerification:
        return PendingVerification(
            flow_key=item["pk"]["S"],
            kind=FlowKind(item["kind"]["S"]),
            subject=item["subject"]["S"],
            phone_number=item["phone_number"]["S"],
            verification_id=item["verification_id"]["S"],
            status=FlowStatus(item["status"]["S"]),
            attempts=int(_num(item, "attempts")),
            max_attempts=int(_num(item, "max_attempts")),
            send_count=int(_num(item, "send_count")),
            last_sent_at=_num(item, "last_sent_at"),
            expires_at=_num(item, "expires_at"),
            created_at=_num(item, "created_at"),
            data={k: v.get("S") for k, v in item.get("data", {}).get("M", {}).items()},
        )

    # -- writes ----------------------------------------------------------------------------
    def create(self, record: PendingVerification, ttl: int) -> None:
        item: dict[str, Any] = {
            "pk": _s(record.flow_key),
            "kind": _s(record.kind.value),
            "subject": _s(record.subject),
            "phone_number": _s(record.phone_number),
            "verification_id": _s(record.verification_id),
            "status": _s(record.status.value),
            "attempts": _n(record.attempts),
            "max_attempts": _n(record.max_attempts),
            "send_count": _n(record.send_count),
            "last_sent_at": _n(record.last_sent_at),
            "expires_at": _n(record.expires_at),
            "created_at": _n(record.created_at),
            "ttl": _n(ttl),
            "data": {"M": {k: _s(str(v)) for k, v in record.data.items()}},
        }
        with dynamodb_errors():
            self._client.put_item(
                TableName=self._table, Item=item, ConditionExpression="attribute_not_exists(pk)"
            )

    def _update(
        self,
        flow_key: str,
        update: str,
        condition: str,
        values: dict[str, Any],
        *,
        return_new: bool = False,
    ) -> dict[str, Any] | None:
        """Apply a conditional update; None when the condition failed."""
        request: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": _s(flow_key)},
            "UpdateExpression": update,
            "ConditionExpression": f"attribute_exists(pk) AND ({condition})",
            "ExpressionAttributeValues": values,
            "ReturnValues": "UPDATED_NEW" if return_new else "NONE",
        }
        # DynamoDB refuses attribute names that the expressions do not use.
        names = {n: n[1:] for n in ("#status", "#ttl") if n in update + condition}
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            with dynamodb_errors():
                response = self._client.update_item(**request)
        except ConditionFailed:
            return None
        return dict(response.get("Attributes", {}))

    def reserve_attempt(self, flow_key: str, verification_id: str, now: float) -> int | None:
        new = self._update(
            flow_key,
            "ADD attempts :one",
            "#status = :pending AND verification_id = :vid AND attempts < max_attempts "
            "AND expires_at > :now",
            {
                ":one": _n(1),
                ":pending": _s(FlowStatus.PENDING.value),
                ":vid": _s(verification_id),
                ":now": _n(now),
            },
            return_new=True,
        )
        return None if new is None else int(_num(new, "attempts"))

    def refund_attempt(self, flow_key: str, verification_id: str) -> bool:
        return (
            self._update(
                flow_key,
                "ADD attempts :minus_one",
                "#status = :pending AND verification_id = :vid AND attempts > :zero",
                {
                    ":minus_one": _n(-1),
                    ":zero": _n(0),
                    ":pending": _s(FlowStatus.PENDING.value),
                    ":vid": _s(verification_id),
                },
            )
            is not None
        )

    def mark_verified(self, flow_key: str, verification_id: str, now: float) -> bool:
        return self._transition(
            flow_key,
            FlowStatus.VERIFIED,
            now,
            extra="AND verification_id = :vid",
            values={":vid": _s(verification_id)},
        )

    def lock(self, flow_key: str, now: float) -> bool:
        return self._transition(flow_key, FlowStatus.LOCKED, now)

    def _transition(
        self,
        flow_key: str,
        status: FlowStatus,
        now: float,
        *,
        extra: str = "",
        values: dict[str, Any] | None = None,
    ) -> bool:
        return (
            self._update(
                flow_key,
                "SET #status = :to, ended_at = :now",
                f"#status = :pending {extra}",
                {
                    ":to": _s(status.value),
                    ":now": _n(now),
                    ":pending": _s(FlowStatus.PENDING.value),
                    **(values or {}),
                },
            )
            is not None
        )

    def reserve_send(
        self, flow_key: str, token: str, now: float, cooldown_secs: int, max_sends: int
    ) -> bool:
        return (
            self._update(
                flow_key,
                "SET last_sent_at = :now, send_token = :token ADD send_count :one",
                "#status = :pending AND last_sent_at <= :cooldown_edge AND send_count < :max "
                "AND attempts < max_attempts",
                {
                    ":now": _n(now),
                    ":token": _s(token),
                    ":one": _n(1),
                    ":pending": _s(FlowStatus.PENDING.value),
                    ":cooldown_edge": _n(now - cooldown_secs),
                    ":max": _n(max_sends),
                },
            )
            is not None
        )

    def release_send(self, flow_key: str, token: str, previous_sent_at: float) -> bool:
        return (
            self._update(
                flow_key,
                "SET last_sent_at = :prev ADD send_count :minus_one REMOVE send_token",
                "send_token = :token",
                {":prev": _n(previous_sent_at), ":minus_one": _n(-1), ":token": _s(token)},
            )
            is not None
        )

    def complete_send(
        self, flow_key: str, token: str, verification_id: str, expires_at: float, ttl: int
    ) -> bool:
        return (
            self._update(
                flow_key,
                "SET verification_id = :vid, expires_at = :exp, #ttl = :ttl REMOVE send_token",
                "#status = :pending AND send_token = :token",
                {
                    ":vid": _s(verification_id),
                    ":exp": _n(expires_at),
                    ":ttl": _n(ttl),
                    ":token": _s(token),
                    ":pending": _s(FlowStatus.PENDING.value),
                },
            )
            is not None
        )
