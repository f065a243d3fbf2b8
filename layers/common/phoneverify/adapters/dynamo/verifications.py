"""The verifications table: one item per pending flow, under a hash of its flow id. Every
write is one conditional update whose condition is built from the flow lifecycle's rules
(phoneverify.domain.lifecycle.flow) by flow_items.condition."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.creation import put_new_once
from phoneverify.adapters.dynamo.flow_items import (
    NAMES,
    TRANSITION,
    condition,
    verification_item,
    verification_of,
)
from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    VERIFICATION_ID_INDEX,
    Returns,
    Table,
    dynamodb_errors,
    from_item,
    read_item,
    to_item,
    transact_write_items,
    update_request,
)
from phoneverify.adapters.dynamo.users import phone_generation_check
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.lifecycle import flow as rules
from phoneverify.domain.lifecycle.flow import FlowAsk, FlowTransition
from phoneverify.domain.models import (
    Channel,
    DeliveryStatus,
    FlowKind,
    PendingVerification,
    PhoneBinding,
)
from phoneverify.ports.conditions import ConditionFailed
from phoneverify.ports.verifications import FlowWrite

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any


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
        return None if row is None else verification_of(row)

    # -- writes ----------------------------------------------------------------------------
    def create(self, record: PendingVerification, ttl: int) -> None:
        item = verification_item(record, ttl)
        put_new_once(self._client, self._table, item, "pk", rules.CREATION_IDENTITY)

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
            rules.RESERVE_ATTEMPT,
            FlowAsk(now, kind=kind, owner=owner),
            "SET check_lease_until = :lease ADD attempts :one",
            {":one": 1, ":lease": lease_until},
        )

    def _write_returning_old(
        self,
        flow_key: str,
        transition: FlowTransition,
        ask: FlowAsk,
        update: str,
        values: dict[str, Any],
    ) -> FlowWrite:
        """One conditional update that answers with the item as it was, written or not
        (ReturnValues and ReturnValuesOnConditionCheckFailure): no read before it."""
        built = condition(transition, ask)
        assert built is not None
        test, tested = built
        try:
            old = self._items.update(
                {"pk": flow_key},
                update,
                test,
                {**tested, **values},
                returns="ALL_OLD",
                old_on_failure=True,
            )
        except ConditionFailed as refused:
            return FlowWrite(False, verification_of(refused.item) if refused.item else None)
        return FlowWrite(True, verification_of(old))

    def _write(
        self,
        flow_key: str,
        transition: FlowTransition,
        ask: FlowAsk,
        update: str,
        values: dict[str, Any],
        *,
        returns: Returns = "NONE",
    ) -> dict[str, Any] | None:
        """`transition` of the flow if it exists and the rule's condition holds: what
        `returns` asks for, or None when nothing was written. `update` sets the transition's
        to-status, when it has one, as `:to`."""
        built = condition(transition, ask)
        if built is None:
            return None
        test, tested = built
        if transition.to_status is not None:
            values = {**values, ":to": transition.to_status.value}
        return self._items.update_if_exists(
            {"pk": flow_key}, update, test, {**tested, **values}, returns=returns
        )

    def release_check(self, flow_key: str, lease_until: float) -> bool:
        ask = FlowAsk(0.0, lease_until=lease_until)
        written = self._write(flow_key, rules.RELEASE_CHECK, ask, "REMOVE check_lease_until", {})
        return written is not None

    def refund_attempt(self, flow_key: str, verification_id: str) -> bool:
        return self._give_attempt_back(flow_key, rules.REFUND_ATTEMPT, verification_id, "", {})

    def prove(self, flow_key: str, verification_id: str, proven_id: str) -> bool:
        return self._give_attempt_back(
            flow_key,
            rules.PROVE,
            verification_id,
            "SET verification_id = :proven",
            {":proven": proven_id},
        )

    def _give_attempt_back(
        self,
        flow_key: str,
        transition: FlowTransition,
        verification_id: str,
        also: str,
        values: dict[str, Any],
    ) -> bool:
        ask = FlowAsk(0.0, verification_id=verification_id)
        update = f"{also} ADD attempts :minus_one REMOVE check_lease_until".strip()
        written = self._write(flow_key, transition, ask, update, {**values, ":minus_one": -1})
        return written is not None

    def mark_verified(
        self,
        flow_key: str,
        verification_id: str,
        now: float,
        binding: PhoneBinding | None = None,
    ) -> bool:
        ask = FlowAsk(now, verification_id=verification_id)
        if binding is None:
            verified = self._write(flow_key, rules.MARK_VERIFIED, ask, TRANSITION, {":now": now})
            return verified is not None
        return self._mark_verified_bound(flow_key, ask, binding)

    def _mark_verified_bound(self, flow_key: str, ask: FlowAsk, binding: PhoneBinding) -> bool:
        """The flow's transition and the account's phone generation check, in one write."""
        built = condition(rules.MARK_VERIFIED, ask, exists=True)
        assert built is not None and rules.MARK_VERIFIED.to_status is not None
        test, tested = built
        to = rules.MARK_VERIFIED.to_status.value
        verified = update_request(
            self._table,
            {"pk": flow_key},
            TRANSITION,
            test,
            {**tested, ":to": to, ":now": ask.now},
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
        locked = self._write(flow_key, rules.LOCK, FlowAsk(now), TRANSITION, {":now": now})
        return locked is not None

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
        ask = FlowAsk(
            now,
            kind=kind,
            owner=owner,
            cooldown_secs=cooldown_secs,
            max_sends=max_sends,
            retention_secs=retention_secs,
        )
        return self._write_returning_old(
            flow_key,
            rules.RESERVE_SEND,
            ask,
            "SET last_sent_at = :now, send_token = :token ADD send_count :one",
            {":now": now, ":token": token, ":one": 1},
        )

    def release_send(self, flow_key: str, token: str, previous_sent_at: float) -> bool:
        released = self._write(
            flow_key,
            rules.RELEASE_SEND,
            FlowAsk(0.0, token=token),
            "SET last_sent_at = :prev ADD send_count :minus_one REMOVE send_token",
            {":prev": previous_sent_at, ":minus_one": -1},
        )
        return released is not None

    def complete_send(
        self,
        flow_key: str,
        token: str,
        verification_id: str,
        expires_at: float,
        ttl: int,
        channel: Channel = Channel.SMS,
    ) -> bool:
        completed = self._write(
            flow_key,
            rules.COMPLETE_SEND,
            FlowAsk(0.0, token=token),
            # A new code: what the provider said about the old one's message no longer holds.
            "SET verification_id = :vid, expires_at = :exp, #ttl = :ttl, channel = :ch "
            "REMOVE send_token, delivery_status",
            {":vid": verification_id, ":exp": expires_at, ":ttl": ttl, ":ch": channel.value},
        )
        return completed is not None

    def cancel(self, flow_key: str, now: float) -> PendingVerification | None:
        # An item past its TTL is gone, even while DynamoDB has not deleted it yet. The item
        # as written (ALL_NEW) is what its live-status watchers are told: no read after.
        new = self._write(
            flow_key, rules.CANCEL, FlowAsk(now), TRANSITION, {":now": now}, returns="ALL_NEW"
        )
        return None if new is None else verification_of(new)

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
        webhook_events.py), by the rule's record_delivery. None when nothing ranks below
        `delivery` (no write could be a step)."""
        ask = FlowAsk(now, verification_id=verification_id, delivery=delivery)
        built = condition(rules.RECORD_DELIVERY, ask, exists=True)
        if built is None:
            return None
        test, tested = built
        return update_request(
            self._table,
            {"pk": flow_key},
            "SET delivery_status = :to, delivery_updated_at = :now",
            test,
            {**tested, ":to": delivery.value, ":now": now},
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
