"""A flow in DynamoDB's words: its VerificationsTable item (written and read back), and the
flow lifecycle's rules (phoneverify.domain.lifecycle.flow) as ConditionExpressions: a
transition's from-statuses become the `#status` test and each of its guards one clause
(FLOW_GUARDS). The store (verifications.py) writes with them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from phoneverify.adapters.dynamo.toolkit import status_in
from phoneverify.domain.lifecycle.flow import FlowAsk, FlowGuard, FlowTransition
from phoneverify.domain.models import (
    Channel,
    DeliveryStatus,
    FlowKind,
    FlowStatus,
    PendingVerification,
)

NAMES = {"#status": "status", "#ttl": "ttl", "#data": "data", "#kind": "kind"}
# A flow that ended keeps no data (a pending registration's password hash).
TRANSITION = "SET #status = :to, ended_at = :now REMOVE #data"

Clause = tuple[str, dict[str, Any]] | None  # None: no flow could pass it


def _delivery_step(ask: FlowAsk) -> Clause:
    earlier = {f":from{i}": status.value for i, status in enumerate(ask.delivery.earlier())}
    if not earlier:
        return None  # nothing ranks below unknown
    below = ", ".join(earlier)
    return f"(attribute_not_exists(delivery_status) OR delivery_status IN ({below}))", earlier


# Each guard of the lifecycle in DynamoDB's words, with the values it reads.
FLOW_GUARDS: dict[FlowGuard, Callable[[FlowAsk], Clause | tuple[()]]] = {
    FlowGuard.ABSENT: lambda ask: ("attribute_not_exists(pk)", {}),
    FlowGuard.KIND: lambda ask: ("#kind = :kind", {":kind": ask.kind and ask.kind.value}),
    # Only a flow of the owner's is written: the caller tells another's apart by the
    # subject of the item returned on the failed condition.
    FlowGuard.OWNER: lambda ask: (
        () if ask.owner is None else ("subject = :owner", {":owner": ask.owner})
    ),
    FlowGuard.ATTEMPTS_LEFT: lambda ask: ("attempts < max_attempts", {}),
    FlowGuard.UNEXPIRED: lambda ask: ("expires_at > :now", {":now": ask.now}),
    FlowGuard.LEASE_FREE: lambda ask: (
        "(attribute_not_exists(check_lease_until) OR check_lease_until <= :now)",
        {":now": ask.now},
    ),
    FlowGuard.LEASE_HELD: lambda ask: ("check_lease_until = :lease", {":lease": ask.lease_until}),
    FlowGuard.CURRENT_CODE: lambda ask: ("verification_id = :vid", {":vid": ask.verification_id}),
    FlowGuard.ATTEMPT_TAKEN: lambda ask: ("attempts > :zero", {":zero": 0}),
    FlowGuard.COOLDOWN_OVER: lambda ask: (
        "last_sent_at <= :cooldown_edge",
        {":cooldown_edge": ask.now - ask.cooldown_secs},
    ),
    FlowGuard.SENDS_LEFT: lambda ask: ("send_count < :max", {":max": ask.max_sends}),
    FlowGuard.REVIVABLE: lambda ask: (
        "expires_at > :revive_edge",
        {":revive_edge": ask.now - ask.retention_secs},
    ),
    FlowGuard.SEND_HELD: lambda ask: ("send_token = :token", {":token": ask.token}),
    FlowGuard.TTL_LEFT: lambda ask: ("#ttl > :now", {":now": ask.now}),
    FlowGuard.LATER_DELIVERY: _delivery_step,
}


def condition(transition: FlowTransition, ask: FlowAsk, *, exists: bool = False) -> Clause:
    """The ConditionExpression of `transition` for `ask`, and the values it reads (with
    `exists`, only on an item there); None when no flow could pass it."""
    clauses = ["attribute_exists(pk)"] if exists else []
    values: dict[str, Any] = {}
    if transition.from_statuses:
        clause, values = status_in(transition.from_statuses)
        clauses.append(clause)
    for guard in transition.guards:
        built = FLOW_GUARDS[guard](ask)
        if built is None:
            return None
        if built:
            clauses.append(built[0])
            values.update(built[1])
    return " AND ".join(clauses), values


def verification_item(record: PendingVerification, ttl: int) -> dict[str, Any]:
    """The VerificationsTable item of a new flow, as plain values."""
    return {
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


def verification_of(row: dict[str, Any]) -> PendingVerification:
    """The PendingVerification a VerificationsTable item holds."""
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
