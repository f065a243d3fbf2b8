"""DynamoDB repositories. ClientError codes become domain outcomes here and nowhere else."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError

from phoneverify.domain.errors import (
    EmailAlreadyRegistered,
    NoPendingVerification,
    PhoneAlreadyRegistered,
    StorageUnavailable,
)
from phoneverify.domain.models import (
    DeliveryStatus,
    FlowKind,
    FlowStatus,
    PendingVerification,
    User,
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


def _s(value: str) -> dict[str, str]:
    return {"S": value}


def _n(value: float | int) -> dict[str, str]:
    return {"N": str(Decimal(str(value)))}


def _num(item: dict[str, Any], name: str) -> float:
    return float(item[name]["N"])


class DynamoUserRepository:
    """Users are stored as `USER#<id>` items; `EMAIL#<email>` and `PHONE#<e164>` items point
    to them, one account per email and per phone number."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def find_by_email(self, email: str) -> User | None:
        return self._find_by(f"EMAIL#{email}")

    def find_by_phone(self, phone_number: str) -> User | None:
        """The user holding this E.164 number (`PHONE#<e164>` points to it), if any."""
        return self._find_by(f"PHONE#{phone_number}")

    def _find_by(self, pointer_key: str) -> User | None:
        with dynamodb_errors():
            pointer = self._client.get_item(
                TableName=self._table, Key={"pk": _s(pointer_key)}, ConsistentRead=True
            ).get("Item")
        return self.get(pointer["user_id"]["S"]) if pointer else None

    def get(self, user_id: str) -> User | None:
        """The `USER#<id>` item, read consistently."""
        with dynamodb_errors():
            item = self._client.get_item(
                TableName=self._table, Key={"pk": _s(f"USER#{user_id}")}, ConsistentRead=True
            ).get("Item")
        if not item:
            return None
        return User(
            user_id=item["user_id"]["S"],
            email=item["email"]["S"],
            password_hash=item["password_hash"]["S"],
            phone_number=item.get("phone_number", {}).get("S"),
            name=item.get("name", {}).get("S"),
            token_generation=int(item.get("token_gen", {}).get("N", "0")),
        )

    def put_user(self, user: User, *, phone_verified_at: float | None = None) -> None:
        """Create a user with its email (and phone) pointers, all only if absent (one
        transaction), so two registrations racing for one email or phone make one account.

        Raises PhoneAlreadyRegistered when another user holds the phone (whether or not the
        email is taken too), else EmailAlreadyRegistered when another user holds the email.
        User ids are fresh, so a taken `USER#<id>` means this same write already went through
        (a retry after a lost response, or seeding run twice): that counts as done.
        """
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
        pointers = [f"EMAIL#{user.email}"]
        if user.phone_number:
            pointers.append(f"PHONE#{user.phone_number}")
        items = [item] + [{"pk": _s(key), "user_id": _s(user.user_id)} for key in pointers]
        request: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": each,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for each in items
        ]
        with dynamodb_errors():
            for attempt in range(2):
                try:
                    self._client.transact_write_items(TransactItems=request)
                    return
                except ClientError as exc:
                    if exc.response.get("Error", {}).get("Code") != TRANSACTION_CANCELED:
                        raise
                    reasons = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if reasons[:1] == [REASON_CONDITION_FAILED]:
                    return  # USER#<id> exists: this write already happened
                # The phone first: whoever writes an account has just proven that phone, so
                # "sign in" is the answer that helps them when the email is taken as well.
                if reasons[2:3] == [REASON_CONDITION_FAILED]:
                    raise PhoneAlreadyRegistered()
                if reasons[1:2] == [REASON_CONDITION_FAILED]:
                    raise EmailAlreadyRegistered()
                if REASON_CONFLICT not in reasons or attempt:
                    break
                # Another transaction held one of these items: once more, after a short pause;
                # if it created that email or phone, the retry answers 409.
                time.sleep(0.02 + secrets.randbelow(80) / 1000)
        raise StorageUnavailable()

    def reset_password(self, user_id: str, password_hash: str, now: float) -> None:
        """One conditional update: the new hash, and the next token generation, which ends
        every token issued before (a token carries the generation it was issued in)."""
        try:
            self._update_user(
                user_id,
                "SET password_hash = :hash, password_changed_at = :now ADD token_gen :one",
                {":hash": _s(password_hash), ":now": _n(int(now)), ":one": _n(1)},
            )
        except ConditionFailed:
            raise NoPendingVerification("No account to reset. Sign up again.") from None

    def end_all_tokens(self, user_id: str) -> None:
        # No such account (a pending registration): it has no token to end.
        with suppress(ConditionFailed):
            self._update_user(user_id, "ADD token_gen :one", {":one": _n(1)})

    def _update_user(self, user_id: str, update: str, values: dict[str, Any]) -> None:
        """A conditional update of an existing `USER#<id>` item (ConditionFailed if gone)."""
        with dynamodb_errors():
            self._client.update_item(
                TableName=self._table,
                Key={"pk": _s(f"USER#{user_id}")},
                UpdateExpression=update,
                ConditionExpression="attribute_exists(pk)",
                ExpressionAttributeValues=values,
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
            check_lease_until=_num(item, "check_lease_until")
            if "check_lease_until" in item
            else 0.0,
            data={k: v.get("S") for k, v in item.get("data", {}).get("M", {}).items()},
            delivery_status=DeliveryStatus(item.get("delivery_status", {}).get("S", "unknown")),
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
            "delivery_status": _s(record.delivery_status.value),
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
        names = {n: n[1:] for n in ("#status", "#ttl", "#data") if n in update + condition}
        if names:
            request["ExpressionAttributeNames"] = names
        try:
            with dynamodb_errors():
                response = self._client.update_item(**request)
        except ConditionFailed:
            return None
        return dict(response.get("Attributes", {}))

    def reserve_attempt(
        self, flow_key: str, verification_id: str, now: float, lease_until: float
    ) -> int | None:
        new = self._update(
            flow_key,
            "SET check_lease_until = :lease ADD attempts :one",
            "#status = :pending AND verification_id = :vid AND attempts < max_attempts "
            "AND expires_at > :now "
            "AND (attribute_not_exists(check_lease_until) OR check_lease_until <= :now)",
            {
                ":one": _n(1),
                ":pending": _s(FlowStatus.PENDING.value),
                ":vid": _s(verification_id),
                ":now": _n(now),
                ":lease": _n(lease_until),
            },
            return_new=True,
        )
        return None if new is None else int(_num(new, "attempts"))

    def release_check(self, flow_key: str, lease_until: float) -> bool:
        return (
            self._update(
                flow_key,
                "REMOVE check_lease_until",
                "check_lease_until = :lease",
                {":lease": _n(lease_until)},
            )
            is not None
        )

    def refund_attempt(self, flow_key: str, verification_id: str) -> bool:
        return (
            self._update(
                flow_key,
                "ADD attempts :minus_one REMOVE check_lease_until",
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
                # A flow that ended keeps no data (a pending registration's password hash).
                "SET #status = :to, ended_at = :now REMOVE #data",
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
                # A new code: what the provider said about the old one's SMS no longer holds.
                "SET verification_id = :vid, expires_at = :exp, #ttl = :ttl "
                "REMOVE send_token, delivery_status",
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

    def cancel(self, flow_key: str, now: float) -> bool:
        # An item past its TTL is gone, even while DynamoDB has not deleted it yet.
        return self._transition(flow_key, FlowStatus.CANCELLED, now, extra="AND #ttl > :now")

    # -- delivery reports (provider webhooks) ----------------------------------------------
    def find_by_verification_id(self, verification_id: str) -> list[str]:
        with dynamodb_errors():
            response = self._client.query(
                TableName=self._table,
                IndexName=VERIFICATION_ID_INDEX,
                KeyConditionExpression="verification_id = :vid",
                ExpressionAttributeValues={":vid": _s(verification_id)},
                Limit=10,
            )
        return [item["pk"]["S"] for item in response.get("Items", [])]

    def record_delivery(
        self, flow_key: str, verification_id: str, delivery: DeliveryStatus, now: float
    ) -> bool:
        earlier = {f":from{i}": _s(status.value) for i, status in enumerate(delivery.earlier())}
        if not earlier:
            return False  # nothing ranks below unknown
        below = "attribute_not_exists(delivery_status) OR delivery_status IN ({})".format(
            ", ".join(earlier)
        )
        return (
            self._update(
                flow_key,
                "SET delivery_status = :to, delivery_updated_at = :now",
                f"#status = :pending AND verification_id = :vid AND ({below})",
                {
                    ":to": _s(delivery.value),
                    ":now": _n(now),
                    ":pending": _s(FlowStatus.PENDING.value),
                    ":vid": _s(verification_id),
                    **earlier,
                },
            )
            is not None
        )
