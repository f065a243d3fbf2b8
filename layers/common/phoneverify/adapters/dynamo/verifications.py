"""The verifications table: one item per pending flow, under a hash of its flow id."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    VERIFICATION_ID_INDEX,
    Table,
    dynamodb_errors,
    from_item,
    put_new,
    read_item,
    to_item,
    transact_write_items,
    update_request,
)
from phoneverify.adapters.dynamo.users import phone_generation_check
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import (
    Channel,
    DeliveryStatus,
    FlowKind,
    FlowStatus,
    PendingVerification,
    PhoneBinding,
)
from phoneverify.ports.conditions import ConditionFailed
from phoneverify.ports.verifications import FlowWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any


NAMES = {"#status": "status", "#ttl": "ttl", "#data": "data", "#kind": "kind"}
# A flow that ended keeps no data (a pending registration's password hash).
TRANSITION = "SET #status = :to, ended_at = :now REMOVE #data"


class DynamoVerificationStore:
    def __init__(self, client: DynamoDBClient, table: str, users_table: str | None = None) -> None:
        """`users_table`: where a bound flow's account phone generation is checked."""
        self._client = client
        self._table = table
        self._users_table = users_table
        self._items = Table(client, table, NAMES)

    # -- reads -----------------------------------------------------------------------------
    def get(self, flow_key: str) -> PendingVerification | None:
        row = read_item(self._client, self._table, {"pk": flow_key})
        return None if row is None else self._record(row)

    @staticmethod
    def _record(row: dict[str, Any]) -> PendingVerification:
        return PendingVerification(
            flow_key=row["pk"],
            kind=FlowKind(row["kind"]),
            subject=row["subject"],
            phone_number=row["phone_number"],
            verification_id=row["verification_id"],
            status=FlowStatus(row["status"]),
            attempts=int(row["attempts"]),
            max_attempts=int(row["max_attempts"]),
            send_count=int(row["send_count"]),
            last_sent_at=float(row["last_sent_at"]),
            expires_at=float(row["expires_at"]),
            created_at=float(row["created_at"]),
            check_lease_until=float(row.get("check_lease_until", 0.0)),
            data={k: str(v) for k, v in row.get("data", {}).items()},
            delivery_status=DeliveryStatus(row.get("delivery_status", "unknown")),
            # Items written before channels existed went by SMS.
            channel=Channel(row.get("channel", Channel.SMS.value)),
        )

    # -- writes ----------------------------------------------------------------------------
    def create(self, record: PendingVerification, ttl: int) -> None:
        item = {
            "pk": record.flow_key,
            "kind": record.kind.value,
            "subject": record.subject,
            "phone_number": record.phone_number,
            "verification_id": record.verification_id,
            "status": record.status.value,
            "attempts": record.attempts,
            "max_attempts": record.max_attempts,
            "send_count": record.send_count,
            "last_sent_at": record.last_sent_at,
            "expires_at": record.expires_at,
            "created_at": record.created_at,
            "ttl": ttl,
            "data": {k: str(v) for k, v in record.data.items()},
            "delivery_status": record.delivery_status.value,
            "channel": record.channel.value,
        }
        put_new(self._client, self._table, item, "pk")

    def reserve_attempt(
        self,
        flow_key: str,
        kind: FlowKind,
        now: float,
        lease_until: float,
        *,
        owner: str | None = None,
    ) -> FlowWrite:
        return self._write_returning_old(
            flow_key,
            "SET check_lease_until = :lease ADD attempts :one",
            "#kind = :kind AND #status = :pending AND attempts < max_attempts "
            "AND expires_at > :now "
            "AND (attribute_not_exists(check_lease_until) OR check_lease_until <= :now)",
            {
                ":one": 1,
                ":kind": kind.value,
                ":pending": FlowStatus.PENDING.value,
                ":now": now,
                ":lease": lease_until,
            },
            owner=owner,
        )

    def _write_returning_old(
        self,
        flow_key: str,
        update: str,
        condition: str,
        values: dict[str, Any],
        *,
        owner: str | None = None,
    ) -> FlowWrite:
        """One conditional update that answers with the item as it was, written or not
        (ReturnValues and ReturnValuesOnConditionCheckFailure): no read before it. With an
        `owner`, only a flow of that subject is written: the caller tells another's flow
        apart by the subject of the item returned on the failed condition."""
        if owner is not None:
            condition = f"{condition} AND subject = :owner"
            values = {**values, ":owner": owner}
        try:
            old = self._items.update(
                {"pk": flow_key}, update, condition, values, returns="ALL_OLD", old_on_failure=True
            )
        except ConditionFailed as refused:
            return FlowWrite(False, self._record(refused.item) if refused.item else None)
        return FlowWrite(True, self._record(old))

    def release_check(self, flow_key: str, lease_until: float) -> bool:
        return (
            self._items.update_if_exists(
                {"pk": flow_key},
                "REMOVE check_lease_until",
                "check_lease_until = :lease",
                {":lease": lease_until},
            )
            is not None
        )

    def refund_attempt(self, flow_key: str, verification_id: str) -> bool:
        return (
            self._items.update_if_exists(
                {"pk": flow_key},
                "ADD attempts :minus_one REMOVE check_lease_until",
                "#status = :pending AND verification_id = :vid AND attempts > :zero",
                {
                    ":minus_one": -1,
                    ":zero": 0,
                    ":pending": FlowStatus.PENDING.value,
                    ":vid": verification_id,
                },
            )
            is not None
        )

    def prove(self, flow_key: str, verification_id: str, proven_id: str) -> bool:
        return (
            self._items.update_if_exists(
                {"pk": flow_key},
                "SET verification_id = :proven ADD attempts :minus_one REMOVE check_lease_until",
                "#status = :pending AND verification_id = :vid AND attempts > :zero",
                {
                    ":proven": proven_id,
                    ":minus_one": -1,
                    ":zero": 0,
                    ":pending": FlowStatus.PENDING.value,
                    ":vid": verification_id,
                },
            )
            is not None
        )

    def mark_verified(
        self,
        flow_key: str,
        verification_id: str,
        now: float,
        binding: PhoneBinding | None = None,
    ) -> bool:
        if binding is None:
            return self._transition(
                flow_key,
                FlowStatus.VERIFIED,
                now,
                extra="AND verification_id = :vid",
                values={":vid": verification_id},
            )
        return self._mark_verified_bound(flow_key, verification_id, now, binding)

    def _mark_verified_bound(
        self, flow_key: str, verification_id: str, now: float, binding: PhoneBinding
    ) -> bool:
        """The flow's transition and the account's phone generation check, in one write."""
        verified = update_request(
            self._table,
            {"pk": flow_key},
            "SET #status = :to, ended_at = :now REMOVE #data",
            "attribute_exists(pk) AND #status = :pending AND verification_id = :vid",
            {
                ":to": FlowStatus.VERIFIED.value,
                ":now": now,
                ":pending": FlowStatus.PENDING.value,
                ":vid": verification_id,
            },
            NAMES,
        )
        return self._bound_update(verified, binding)

    def _bound_update(self, update: dict[str, Any], binding: PhoneBinding) -> bool:
        """`update` (an UpdateItem body) and a check that the account's phone generation is
        still the bound one, in one TransactWriteItems (one round trip, as the update alone).
        False when the update's own condition failed; PhoneSuperseded when the account's."""
        if self._users_table is None:
            raise ValueError("a bound flow needs the users table")
        account = phone_generation_check(self._users_table, binding)
        cancelled = transact_write_items(
            self._client, [{"Update": update}, {"ConditionCheck": account}]
        )
        if cancelled is None:
            return True
        if cancelled[0].code == REASON_CONDITION_FAILED:
            return False  # as the plain update would answer
        if len(cancelled) > 1 and cancelled[1].code == REASON_CONDITION_FAILED:
            raise binding.refusal(cancelled[1].item)
        raise StorageUnavailable()

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
            self._items.update_if_exists(
                {"pk": flow_key},
                TRANSITION,
                f"#status = :pending {extra}",
                {
                    ":to": status.value,
                    ":now": now,
                    ":pending": FlowStatus.PENDING.value,
                    **(values or {}),
                },
            )
            is not None
        )

    def reserve_send(
        self,
        flow_key: str,
        kind: FlowKind,
        token: str,
        now: float,
        *,
        cooldown_secs: int,
        max_sends: int,
        retention_secs: int,
        owner: str | None = None,
    ) -> FlowWrite:
        return self._write_returning_old(
            flow_key,
            "SET last_sent_at = :now, send_token = :token ADD send_count :one",
            "#kind = :kind AND #status = :pending AND last_sent_at <= :cooldown_edge "
            "AND send_count < :max AND attempts < max_attempts AND expires_at > :revive_edge",
            {
                ":now": now,
                ":token": token,
                ":one": 1,
                ":kind": kind.value,
                ":pending": FlowStatus.PENDING.value,
                ":cooldown_edge": now - cooldown_secs,
                ":max": max_sends,
                ":revive_edge": now - retention_secs,
            },
            owner=owner,
        )

    def release_send(self, flow_key: str, token: str, previous_sent_at: float) -> bool:
        return (
            self._items.update_if_exists(
                {"pk": flow_key},
                "SET last_sent_at = :prev ADD send_count :minus_one REMOVE send_token",
                "send_token = :token",
                {":prev": previous_sent_at, ":minus_one": -1, ":token": token},
            )
            is not None
        )

    def complete_send(
        self,
        flow_key: str,
        token: str,
        verification_id: str,
        expires_at: float,
        ttl: int,
        channel: Channel = Channel.SMS,
    ) -> bool:
        return (
            self._items.update_if_exists(
                {"pk": flow_key},
                # A new code: what the provider said about the old one's message no longer
                # holds.
                "SET verification_id = :vid, expires_at = :exp, #ttl = :ttl, channel = :ch "
                "REMOVE send_token, delivery_status",
                "#status = :pending AND send_token = :token",
                {
                    ":vid": verification_id,
                    ":exp": expires_at,
                    ":ttl": ttl,
                    ":ch": channel.value,
                    ":token": token,
                    ":pending": FlowStatus.PENDING.value,
                },
            )
            is not None
        )

    def cancel(self, flow_key: str, now: float) -> PendingVerification | None:
        # An item past its TTL is gone, even while DynamoDB has not deleted it yet. The item
        # as written (ALL_NEW) is what its live-status watchers are told: no read after.
        new = self._items.update_if_exists(
            {"pk": flow_key},
            TRANSITION,
            "#status = :pending AND #ttl > :now",
            {
                ":to": FlowStatus.CANCELLED.value,
                ":now": now,
                ":pending": FlowStatus.PENDING.value,
            },
            returns="ALL_NEW",
        )
        return None if new is None else self._record(new)

    # -- delivery reports (provider webhooks) ----------------------------------------------
    def find_by_verification_id(self, verification_id: str) -> list[str]:
        with dynamodb_errors():
            response = self._client.query(
                TableName=self._table,
                IndexName=VERIFICATION_ID_INDEX,
                KeyConditionExpression="verification_id = :vid",
                ExpressionAttributeValues=to_item({":vid": verification_id}),
                Limit=10,
            )
        return [str(from_item(item)["pk"]) for item in response.get("Items", [])]

    def delivery_update(
        self, flow_key: str, verification_id: str, delivery: DeliveryStatus, now: float
    ) -> dict[str, Any] | None:
        """The conditional update that moves the flow's delivery status forward to `delivery`
        (an UpdateItem, or an `Update` of a webhook's transaction: adapters/dynamo/
        webhook_events.py): only while the flow is pending on `verification_id` and its status
        ranks below. None when nothing ranks below `delivery` (no write could be a step)."""
        earlier = {f":from{i}": status.value for i, status in enumerate(delivery.earlier())}
        if not earlier:
            return None  # nothing ranks below unknown
        below = "attribute_not_exists(delivery_status) OR delivery_status IN ({})".format(
            ", ".join(earlier)
        )
        return update_request(
            self._table,
            {"pk": flow_key},
            "SET delivery_status = :to, delivery_updated_at = :now",
            f"attribute_exists(pk) AND #status = :pending AND verification_id = :vid AND ({below})",
            {
                ":to": delivery.value,
                ":now": now,
                ":pending": FlowStatus.PENDING.value,
                ":vid": verification_id,
                **earlier,
            },
            NAMES,
        )

    def record_delivery(
        self, flow_key: str, verification_id: str, delivery: DeliveryStatus, now: float
    ) -> bool:
        """delivery_update on its own (a webhook writes it with its event's claim)."""
        request = self.delivery_update(flow_key, verification_id, delivery, now)
        if request is None:
            return False
        try:
            with dynamodb_errors():
                self._client.update_item(**request)
        except ConditionFailed:
            return False
        return True
