"""The DynamoDB send-limit and failure-count adapters' answers to throttling and transaction
conflicts, on a scripted client: always a clean 503, never a half-counted send."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from phoneverify.adapters.dynamo import toolkit
from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock
from phoneverify.adapters.dynamo.send_limits import DynamoSendLimits
from phoneverify.domain.errors import (
    AccountLocked,
    SendBudgetExhausted,
    SendLimitReached,
    StorageUnavailable,
)
from phoneverify.domain.models import SendPermit
from phoneverify.domain.send_limits import SendCaps
from phoneverify.domain.tiers import SendTier
from tests.support.builders import ORIGIN, PHONE
from tests.support.fakes import FakeClock
from tests.support.scripted_dynamodb import ScriptedClient, client_error

USER = "u-phone"
LOCKOUT = 30 * 86_400


def guard_on(client: ScriptedClient) -> DynamoSendLimits:
    return DynamoSendLimits(client, "RateLimitsTable", SendCaps(), FakeClock())  # type: ignore[arg-type]


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolkit.time, "sleep", lambda _: None)


@pytest.mark.parametrize(
    "error",
    [
        client_error("TransactionCanceledException", ["None", "ThrottlingError", "None", "None"]),
        client_error("TransactionCanceledException", ["None", "None", "None", "ValidationError"]),
        client_error("ProvisionedThroughputExceededException"),
        client_error("ThrottlingException"),
    ],
    ids=["throttled-item", "cancelled-otherwise", "throughput", "throttling"],
)
def test_a_throttled_send_transaction_is_a_clean_503(error: ClientError) -> None:
    with pytest.raises(StorageUnavailable):
        guard_on(ScriptedClient(error)).admit(PHONE, USER, ORIGIN)


def test_transaction_conflicts_are_retried(no_sleep: None) -> None:
    conflict = client_error("TransactionCanceledException", ["None"] * 3 + ["TransactionConflict"])
    client = ScriptedClient(conflict, conflict, None)
    permit = guard_on(client).admit(PHONE, USER, ORIGIN)
    assert client.calls == 3
    assert len(permit.keys) == 4


def test_endless_conflicts_end_in_a_503(no_sleep: None) -> None:
    conflict = client_error("TransactionCanceledException", ["TransactionConflict"] * 4)
    client = ScriptedClient(*[conflict] * 20)
    with pytest.raises(StorageUnavailable):
        guard_on(client).admit(PHONE, USER, ORIGIN)


def test_a_throttled_failure_counter_table_is_a_clean_503() -> None:
    client = ScriptedClient(client_error("ProvisionedThroughputExceededException"))
    counter = DynamoAccountLock(
        client,  # type: ignore[arg-type]
        "RateLimitsTable",
        max_failures=100,
        lockout_secs=LOCKOUT,
        clock=FakeClock(),
    )
    with pytest.raises(StorageUnavailable):
        counter.reserve(USER)


def test_giving_counts_back_never_turns_a_telnyx_502_into_a_503() -> None:
    unavailable = client_error("ProvisionedThroughputExceededException")
    client = ScriptedClient(*[unavailable] * 6)
    guard_on(client).release(SendPermit(("phone#a#0", "ip#b#0", "account#c#0", "global#0")))
    counter = DynamoAccountLock(
        client,  # type: ignore[arg-type]
        "RateLimitsTable",
        max_failures=100,
        lockout_secs=LOCKOUT,
        clock=FakeClock(),
    )
    counter.refund(USER)
    counter.reset(USER)
    assert client.calls == 6


# -- the budget in shards ----------------------------------------------------------------------
FULL_SHARD = client_error("TransactionCanceledException", ["None"] * 3 + ["ConditionalCheckFailed"])


def budget_key(transaction: list[dict[str, Any]]) -> str:
    key: str = transaction[-1]["Update"]["Key"]["pk"]["S"]
    assert key.startswith("global#")
    return key


def sharded_guard(client: ScriptedClient, budget: int, shards: int) -> DynamoSendLimits:
    whole = {SendTier.VERIFIED: 100, SendTier.RESET: 0, SendTier.UNPROVEN: 0}
    caps = SendCaps(budget=budget, budget_shards=shards, shares=whole)
    return DynamoSendLimits(client, "RateLimitsTable", caps, FakeClock())  # type: ignore[arg-type]


def test_a_send_refused_by_a_full_budget_shard_counts_in_another() -> None:
    client = ScriptedClient(FULL_SHARD, None)
    permit = sharded_guard(client, budget=100, shards=10).admit(PHONE, USER, ORIGIN)
    first, second = (budget_key(t) for t in client.transactions)
    assert first != second
    assert permit.keys[-1] == second


def test_the_budget_refuses_once_every_shard_did_then_at_one_call_a_send() -> None:
    # Given a budget of 3 sends in 3 shards, all spent
    client = ScriptedClient(*[FULL_SHARD] * 4)
    guard = sharded_guard(client, budget=3, shards=3)
    # When a send asks: every shard is tried once, then the breaker answers
    with pytest.raises(SendBudgetExhausted):
        guard.admit(PHONE, USER, ORIGIN)
    assert len({budget_key(t) for t in client.transactions}) == 3
    # and the next send, knowing the shards are full, costs one call like any other
    with pytest.raises(SendBudgetExhausted):
        guard.admit(PHONE, USER, ORIGIN)
    assert client.calls == 4


def test_a_send_refused_by_its_phone_cap_is_not_a_spent_budget() -> None:
    both = client_error(
        "TransactionCanceledException",
        ["ConditionalCheckFailed", "None", "None", "ConditionalCheckFailed"],
    )
    client = ScriptedClient(both)
    with pytest.raises(SendLimitReached):
        sharded_guard(client, budget=100, shards=10).admit(PHONE, USER, ORIGIN)
    assert client.calls == 1


def test_a_conflict_is_retried_on_another_shard(no_sleep: None) -> None:
    conflict = client_error("TransactionCanceledException", ["None"] * 3 + ["TransactionConflict"])
    client = ScriptedClient(conflict, None)
    sharded_guard(client, budget=100, shards=10).admit(PHONE, USER, ORIGIN)
    first, second = (budget_key(t) for t in client.transactions)
    assert first != second


# -- the account lock in the send's transaction ------------------------------------------------
def locking_guard(client: ScriptedClient) -> DynamoSendLimits:
    clock = FakeClock()
    counter = DynamoAccountLock(
        client,  # type: ignore[arg-type]
        "RateLimitsTable",
        max_failures=100,
        lockout_secs=LOCKOUT,
        clock=clock,
    )
    return DynamoSendLimits(client, "RateLimitsTable", SendCaps(), clock, failures=counter)  # type: ignore[arg-type]


def test_a_send_under_the_lock_checks_it_in_its_one_transaction() -> None:
    client = ScriptedClient(None)
    locking_guard(client).admit(PHONE, USER, ORIGIN, account_lock=True)
    assert client.calls == 1
    check = client.transactions[0][-1]["ConditionCheck"]
    assert check["Key"] == {"pk": {"S": f"fail#{USER}"}}
    assert check["ReturnValuesOnConditionCheckFailure"] == "ALL_OLD"


@pytest.mark.parametrize(
    ("found", "retry_after"),
    [
        ({"failures": {"N": "100"}, "ttl": {"N": str(int(FakeClock().now()) + 600)}}, 600),
        (None, LOCKOUT),
    ],
    ids=["item-found", "no-item-returned"],
)
def test_a_locked_account_is_answered_before_the_caps_that_refuse_too(
    found: dict[str, Any] | None, retry_after: int
) -> None:
    # The phone's cap and the lock both refused: the lock answers, with the item's time left
    reasons = ["ConditionalCheckFailed", "None", "None", "None", "ConditionalCheckFailed"]
    refused = client_error("TransactionCanceledException", reasons, {4: found} if found else None)
    client = ScriptedClient(refused)
    with pytest.raises(AccountLocked) as locked:
        locking_guard(client).admit(PHONE, USER, ORIGIN, account_lock=True)
    assert locked.value.retry_after == retry_after
    assert client.calls == 1
