"""The three stores of each lifecycle (the in-memory fake, DynamoDB on moto, DynamoDB Local),
each able to be put in any state the lifecycle knows and read back as that state, so
tests/integration/test_lifecycles.py can walk every transition from every state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock, failure_count
from phoneverify.adapters.dynamo.flow_items import verification_item, verification_of
from phoneverify.adapters.dynamo.payments import DynamoPaymentRepository, payment_item, payment_of
from phoneverify.adapters.dynamo.toolkit import from_item, to_item
from phoneverify.adapters.dynamo.verifications import DynamoVerificationStore
from phoneverify.domain.lifecycle.account_lock import AccountLockRule, FailureCount
from phoneverify.domain.lifecycle.flow import FlowState
from phoneverify.domain.lifecycle.payment import Claim, PaymentState
from phoneverify.ports.abuse import AccountLock
from phoneverify.ports.payments import PaymentRepository
from phoneverify.ports.verifications import VerificationStore
from tests.support.fakes import (
    FakeClock,
    InMemoryAccountLock,
    InMemoryPayments,
    InMemoryVerificationStore,
)
from tests.support.tables import fresh_table, rate_limits_table


@dataclass
class Stores:
    """One backend's stores of the three lifecycles, each with `put` (a state, or None for
    none) and `read` (the state stored) by key."""

    payments: PaymentRepository
    put_payment: Callable[[str, PaymentState], None]
    read_payment: Callable[[str], PaymentState | None]
    flows: VerificationStore
    put_flow: Callable[[str, FlowState], None]
    read_flow: Callable[[str], FlowState | None]
    clock: FakeClock
    failures: AccountLock
    put_count: Callable[[str, FailureCount], None]
    read_count: Callable[[str], FailureCount | None]


def memory_stores(rule: AccountLockRule, clock: FakeClock) -> Stores:
    payments, flows = InMemoryPayments(), InMemoryVerificationStore()
    failures = InMemoryAccountLock(
        clock, max_failures=rule.max_failures, lockout_secs=rule.lockout_secs
    )

    def put_payment(key: str, state: PaymentState) -> None:
        payments.items[key] = state.payment
        if state.claim is not None:
            payments.claims[key] = (state.claim.token, state.claim.until)

    def put_flow(key: str, state: FlowState) -> None:
        flows.items[key], flows.ttls[key] = state.record, state.ttl
        if state.send_token is not None:
            flows.send_tokens[key] = state.send_token

    def put_count(subject: str, count: FailureCount) -> None:
        failures.counts[subject] = (count.failures, count.expires)

    return Stores(
        payments,
        put_payment,
        payments.state,
        flows,
        put_flow,
        flows.state,
        clock,
        failures,
        put_count,
        failures.count,
    )


def dynamo_stores(client: Any, rule: AccountLockRule, clock: FakeClock) -> Stores:
    payments_table = fresh_table(client, "PaymentsTable")
    flows_table = fresh_table(client, "VerificationsTable")
    limits_table = rate_limits_table(client)

    def put(table: str, item: dict[str, Any]) -> None:
        client.put_item(
            TableName=table, Item=to_item({k: v for k, v in item.items() if v is not None})
        )

    def read(table: str, key: dict[str, Any]) -> dict[str, Any] | None:
        item = client.get_item(TableName=table, Key=to_item(key), ConsistentRead=True).get("Item")
        return None if item is None else from_item(item)

    def put_payment(key: str, state: PaymentState) -> None:
        item = payment_item(state.payment)
        item["transaction_id"] = state.payment.transaction_id
        if state.claim is not None:
            item.update(confirm_token=state.claim.token, confirm_until=state.claim.until)
        put(payments_table, item)

    def read_payment(key: str) -> PaymentState | None:
        row = read(payments_table, {"payment_id": key})
        if row is None:
            return None
        claim = None
        if "confirm_token" in row:
            claim = Claim(str(row["confirm_token"]), float(row["confirm_until"]))
        return PaymentState(payment_of(row), claim)

    def put_flow(key: str, state: FlowState) -> None:
        item = verification_item(state.record, state.ttl)
        if state.record.check_lease_until:
            item["check_lease_until"] = state.record.check_lease_until
        item["send_token"] = state.send_token
        put(flows_table, item)

    def read_flow(key: str) -> FlowState | None:
        row = read(flows_table, {"pk": key})
        if row is None:
            return None
        token = row.get("send_token")
        return FlowState(
            verification_of(row), int(row["ttl"]), None if token is None else str(token)
        )

    def put_count(subject: str, count: FailureCount) -> None:
        put(
            limits_table,
            {"pk": rule.key(subject), "failures": count.failures, "ttl": count.expires},
        )

    def read_count(subject: str) -> FailureCount | None:
        return failure_count(read(limits_table, {"pk": rule.key(subject)}))

    return Stores(
        DynamoPaymentRepository(client, payments_table),
        put_payment,
        read_payment,
        DynamoVerificationStore(client, flows_table),
        put_flow,
        read_flow,
        clock,
        DynamoAccountLock(
            client,
            limits_table,
            max_failures=rule.max_failures,
            lockout_secs=rule.lockout_secs,
            clock=clock,
        ),
        put_count,
        read_count,
    )
