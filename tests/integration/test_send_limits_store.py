"""One contract for the abuse-control counters: the in-memory fakes the unit tests use, and the
DynamoDB adapters on moto and on AWS's DynamoDB Local (the real engine, for the races)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock
from phoneverify.adapters.dynamo.send_limits import DynamoSendLimits
from phoneverify.domain.errors import AccountLocked, SendBudgetExhausted, SendLimitReached
from phoneverify.domain.models import Channel, RequestOrigin
from phoneverify.domain.send_limits import (
    METRIC_ADMITTED,
    METRIC_BUDGET_EXHAUSTED,
    METRIC_TIER_ADMITTED,
    SendCaps,
)
from phoneverify.domain.tiers import SendTier
from phoneverify.http.errors import error_body, error_headers, status_of
from phoneverify.ports.abuse import AccountLock, SendGuard
from tests.support.fakes import FakeClock, InMemoryAccountLock, InMemorySendLimits
from tests.support.tables import rate_limits_table

HOUR = 3_600
LOCKOUT = 30 * 86_400
PHONE = "+14155550123"
IP = "203.0.113.9"
BIG = 1_000


def origin(ip: str = IP) -> RequestOrigin:
    return RequestOrigin(source_ip=ip, user_agent="pytest")


# The whole budget to the tier these sends count in: the tiers' split has tests of its own
# (tests/unit/test_send_limit_rules.py, test_fraud_guard_store.py).
WHOLE = {SendTier.VERIFIED: 100, SendTier.RESET: 0, SendTier.UNPROVEN: 0}


def caps(**values: int) -> SendCaps:
    defaults = {"per_phone": BIG, "per_ip": BIG, "per_account": BIG, "budget": BIG}
    return SendCaps(**{**defaults, **values}, window_secs=HOUR, shares=WHOLE)


def phone(n: int) -> str:
    return f"+1415555{n:04d}"


@dataclass
class Counters:
    """Makes send guards and failure counters of one kind over one clock and store."""

    clock: FakeClock
    limits: Callable[..., SendGuard]  # (caps, failures=None): with the counter it checks
    failures: Callable[[int], AccountLock]
    stored_keys: Callable[[], list[str]]
    metrics: list[str] = field(default_factory=list)
    client: Any = None  # DynamoDB's (None for the in-memory fakes)
    table: str = ""


def dynamo_counters(client: Any) -> Counters:
    table = rate_limits_table(client)
    clock = FakeClock()
    metrics: list[str] = []

    def keys() -> list[str]:
        return [item["pk"]["S"] for item in client.scan(TableName=table)["Items"]]

    return Counters(
        clock,
        lambda c, failures=None: DynamoSendLimits(
            client, table, c, clock, metrics.append, failures=failures
        ),
        lambda cap: DynamoAccountLock(
            client, table, max_failures=cap, lockout_secs=LOCKOUT, clock=clock
        ),
        keys,
        metrics,
        client,
        table,
    )


def memory_counters() -> Counters:
    clock = FakeClock()
    metrics: list[str] = []
    made: list[InMemorySendLimits | InMemoryAccountLock] = []

    def limits(c: SendCaps, failures: InMemoryAccountLock | None = None) -> SendGuard:
        made.append(InMemorySendLimits(clock, c, metrics.append, failures=failures))
        return made[-1]  # type: ignore[return-value]

    def failures(cap: int) -> AccountLock:
        made.append(InMemoryAccountLock(clock, max_failures=cap, lockout_secs=LOCKOUT))
        return made[-1]  # type: ignore[return-value]

    def keys() -> list[str]:
        return [str(key) for counter in made for key in counter.counts]

    return Counters(clock, limits, failures, keys, metrics)


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def counters(request: pytest.FixtureRequest) -> Iterator[Counters]:
    if request.param == "memory":
        yield memory_counters()
    elif request.param == "moto":
        with mock_aws():
            yield dynamo_counters(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        yield dynamo_counters(client)


@pytest.fixture
def real_engine(dynamodb_local_endpoint: str) -> Counters:
    return dynamo_counters(
        boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint, region_name="us-east-1")
    )


# -- send limits ----------------------------------------------------------------------------
def test_calls_count_in_their_own_caps_and_in_the_shared_ones(counters: Counters) -> None:
    # Given 2 calls per phone, 3 calls for the service and 3 sends per phone an hour
    guard = counters.limits(
        replace(caps(per_phone=3), calls_per_phone=2, call_budget=3, window_secs=HOUR)
    )
    # When a phone gets two calls, then asks for a third
    guard.admit(PHONE, "u-1", origin(), Channel.CALL)
    guard.admit(PHONE, "u-2", origin(), Channel.CALL)
    with pytest.raises(SendLimitReached) as refused:
        guard.admit(PHONE, "u-3", origin(), Channel.CALL)
    # Then the call is a 429 like any send cap, and SMS still goes to it
    assert error_body(refused.value)["code"] == "send_limit_reached"
    guard.admit(PHONE, "u-4", origin(), Channel.SMS)
    # And the phone's shared cap counted both calls: one more send of any kind is refused
    with pytest.raises(SendLimitReached):
        guard.admit(PHONE, "u-5", origin(), Channel.SMS)
    # The service's calls stop at 3, whatever the phone; a refused call counted nowhere
    guard.admit(phone(1), "u-6", origin(), Channel.CALL)
    with pytest.raises(SendLimitReached):
        guard.admit(phone(2), "u-7", origin(), Channel.CALL)
    guard.admit(phone(2), "u-8", origin(), Channel.SMS)
    assert any(key.startswith("callbudget#") for key in counters.stored_keys())


def test_a_released_call_gives_its_call_counts_back(counters: Counters) -> None:
    guard = counters.limits(replace(caps(), calls_per_phone=1, window_secs=HOUR))
    permit = guard.admit(PHONE, "u-1", origin(), Channel.CALL)
    guard.release(permit)
    guard.admit(PHONE, "u-1", origin(), Channel.CALL)


LAYERS: dict[str, Callable[[int], tuple[str, str, str]]] = {
    # layer -> the n-th send as (phone, subject, ip), varying all but that layer's key
    "per_phone": lambda n: (PHONE, f"u-{n}", f"198.51.100.{n}"),
    "per_ip": lambda n: (phone(n), f"u-{n}", IP),
    "per_account": lambda n: (phone(n), "u-1", f"198.51.100.{n}"),
}


@pytest.mark.parametrize("layer", sorted(LAYERS))
def test_each_layer_admits_up_to_its_cap_then_answers_when_its_window_ends(
    counters: Counters, layer: str
) -> None:
    # Given a cap of 3 on one layer, ten minutes into the hour
    guard = counters.limits(caps(**{layer: 3}))
    counters.clock.advance(600)
    sends = [LAYERS[layer](n) for n in range(4)]
    # When
    for number, subject, ip in sends[:3]:
        guard.admit(number, subject, origin(ip))
    number, subject, ip = sends[3]
    with pytest.raises(SendLimitReached) as refused:
        guard.admit(number, subject, origin(ip))
    # Then the 429 says when the hour is over
    assert status_of(refused.value) == 429
    assert refused.value.retry_after == HOUR - 600
    assert error_headers(refused.value) == {"Retry-After": str(HOUR - 600)}
    assert error_body(refused.value)["code"] == "send_limit_reached"


def test_a_refused_send_counts_in_no_layer(counters: Counters) -> None:
    # Given two sends to one phone from one address, where phones take 2 and addresses 3
    guard = counters.limits(caps(per_phone=2, per_ip=3))
    guard.admit(PHONE, "u-1", origin())
    guard.admit(PHONE, "u-1", origin())
    # When a third send to that phone is refused
    with pytest.raises(SendLimitReached):
        guard.admit(PHONE, "u-1", origin())
    # Then the address still has its third send, and only one
    guard.admit(phone(1), "u-2", origin())
    with pytest.raises(SendLimitReached):
        guard.admit(phone(2), "u-3", origin())


def test_the_global_budget_opens_the_circuit_breaker_with_a_metric(counters: Counters) -> None:
    # Given a service-wide budget of 3 sends an hour
    guard = counters.limits(caps(budget=3))
    counters.clock.advance(1_000)
    for n in range(3):
        guard.admit(phone(n), f"u-{n}", origin(f"198.51.100.{n}"))
    # When anyone else asks for a code
    with pytest.raises(SendBudgetExhausted) as refused:
        guard.admit(phone(9), "u-9", origin("192.0.2.1"))
    # Then 503 with Retry-After, and the breaker's metric (the alarm's) counted once
    assert status_of(refused.value) == 503
    assert error_body(refused.value) == {
        "error": "Verification codes are temporarily unavailable. Please try again later.",
        "code": "sms_budget_exhausted",
        "retry_after": HOUR - 1_000,
    }
    assert error_headers(refused.value) == {"Retry-After": str(HOUR - 1_000)}
    assert counters.metrics.count(METRIC_BUDGET_EXHAUSTED) == 1
    assert counters.metrics.count(METRIC_ADMITTED) == 3


def test_each_admitted_send_counts_under_its_tier(counters: Counters) -> None:
    # Given the budget's tiers (the dashboard's budget use per tier)
    shares = {SendTier.VERIFIED: 50, SendTier.RESET: 0, SendTier.UNPROVEN: 50}
    guard = counters.limits(replace(caps(budget=1_000), shares=shares))
    # When a sign-in code and two sign-up codes are admitted
    guard.admit(phone(1), "u-1", origin("198.51.100.1"), tier=SendTier.VERIFIED)
    guard.admit(phone(2), "u-2", origin("198.51.100.2"), tier=SendTier.UNPROVEN)
    guard.admit(phone(3), "u-3", origin("198.51.100.3"), tier=SendTier.UNPROVEN)
    # Then each counts once in the total and once under its own tier
    assert counters.metrics.count(METRIC_ADMITTED) == 3
    assert counters.metrics.count(METRIC_TIER_ADMITTED.format(tier="verified")) == 1
    assert counters.metrics.count(METRIC_TIER_ADMITTED.format(tier="unproven")) == 2


def test_the_breaker_answers_first_when_other_layers_are_full_too(counters: Counters) -> None:
    guard = counters.limits(caps(per_phone=1, budget=1))
    guard.admit(PHONE, "u-1", origin())
    with pytest.raises(SendBudgetExhausted):
        guard.admit(PHONE, "u-1", origin())


def test_the_next_window_starts_from_zero(counters: Counters) -> None:
    guard = counters.limits(caps(per_phone=1, budget=1))
    guard.admit(PHONE, "u-1", origin())
    with pytest.raises(SendBudgetExhausted):
        guard.admit(PHONE, "u-1", origin())
    counters.clock.advance(HOUR)
    guard.admit(PHONE, "u-1", origin())


def test_a_released_send_is_given_back_once(counters: Counters) -> None:
    # Given a send the provider then failed to deliver
    guard = counters.limits(caps(per_phone=1))
    permit = guard.admit(PHONE, "u-1", origin())
    # When it is given back (twice: never below zero)
    guard.release(permit)
    guard.release(permit)
    # Then exactly one send is available again
    guard.admit(PHONE, "u-1", origin())
    with pytest.raises(SendLimitReached):
        guard.admit(PHONE, "u-1", origin())


def test_one_number_written_several_ways_counts_as_one(counters: Counters) -> None:
    guard = counters.limits(caps(per_phone=2))
    guard.admit("+14155550123", "u-1", origin())
    guard.admit("+1 415-555-0123", "u-2", origin("198.51.100.1"))
    with pytest.raises(SendLimitReached):
        guard.admit("+1 (415) 555 0123", "u-3", origin("198.51.100.2"))


def test_ipv6_addresses_of_one_64_block_count_as_one_source(counters: Counters) -> None:
    guard = counters.limits(caps(per_ip=2))
    guard.admit(phone(1), "u-1", origin("2001:db8:0:7::1"))
    guard.admit(phone(2), "u-2", origin("2001:db8:0:7:abcd::2"))
    with pytest.raises(SendLimitReached):
        guard.admit(phone(3), "u-3", origin("2001:db8:0:7:ffff:ffff:ffff:ffff"))
    guard.admit(phone(4), "u-4", origin("2001:db8:0:8::1"))  # another subscriber's block


def test_counters_hold_no_phone_number_or_address_in_clear(counters: Counters) -> None:
    guard = counters.limits(caps())
    guard.admit(PHONE, "u-1", origin())
    keys = " ".join(counters.stored_keys())
    assert keys
    assert "4155550123" not in keys
    assert IP not in keys


# -- failures per account -------------------------------------------------------------------
def test_failures_are_counted_up_to_the_cap_then_the_account_is_locked(
    counters: Counters,
) -> None:
    failures = counters.failures(3)
    failures.ensure_unlocked("u-1")
    assert [failures.reserve("u-1") for _ in range(3)] == [2, 1, 0]
    with pytest.raises(AccountLocked) as locked:
        failures.reserve("u-1")
    assert status_of(locked.value) == 429
    assert locked.value.retry_after == LOCKOUT
    assert error_body(locked.value) == {
        "error": AccountLocked.message,
        "code": "account_locked",
        "retry_after": LOCKOUT,
    }
    with pytest.raises(AccountLocked):
        failures.ensure_unlocked("u-1")
    failures.ensure_unlocked("u-2")  # another account is not concerned


def test_a_refund_gives_one_failure_back_and_a_reset_starts_over(counters: Counters) -> None:
    failures = counters.failures(3)
    assert failures.reserve("u-1") == 2
    failures.refund("u-1")
    failures.refund("u-1")  # never below zero
    assert failures.reserve("u-1") == 2
    assert failures.reserve("u-1") == 1
    failures.reset("u-1")
    failures.reset("u-1")  # nothing to reset: fine
    assert failures.reserve("u-1") == 2


def test_the_lock_ends_after_the_lockout_even_before_ttl_deletion(counters: Counters) -> None:
    failures = counters.failures(2)
    failures.reserve("u-1")
    counters.clock.advance(100)
    failures.reserve("u-1")
    counters.clock.advance(LOCKOUT - 1)
    with pytest.raises(AccountLocked) as locked:
        failures.reserve("u-1")
    assert locked.value.retry_after == 1
    # When the lockout has passed (DynamoDB may not have deleted the item yet)
    counters.clock.advance(1)
    failures.ensure_unlocked("u-1")
    assert failures.reserve("u-1") == 1  # counting starts over


def test_failures_further_apart_than_the_lockout_are_not_consecutive(counters: Counters) -> None:
    failures = counters.failures(3)
    failures.reserve("u-1")
    counters.clock.advance(LOCKOUT + 1)
    assert failures.reserve("u-1") == 2


# -- the account lock, checked in the send's transaction ------------------------------------
def lock(failures: AccountLock, subject: str, cap: int) -> None:
    for _ in range(cap):
        failures.reserve(subject)


def test_a_locked_account_gets_no_send_and_the_refusal_counts_nothing(
    counters: Counters,
) -> None:
    # Given an account locked by its third wrong code, 100 s ago, and one send per phone
    failures = counters.failures(3)
    guard = counters.limits(caps(per_phone=1), failures)
    lock(failures, "u-1", 3)
    counters.clock.advance(100)
    stored = sorted(counters.stored_keys())
    # When a code is asked for it
    with pytest.raises(AccountLocked) as locked:
        guard.admit(PHONE, "u-1", origin(), account_lock=True)
    # Then 429 account_locked until the lock ends, as a code check is told
    assert status_of(locked.value) == 429
    assert locked.value.retry_after == LOCKOUT - 100
    assert error_headers(locked.value) == {"Retry-After": str(LOCKOUT - 100)}
    assert error_body(locked.value)["code"] == "account_locked"
    # and the refusal counted in no layer: the phone still has its one send
    assert sorted(counters.stored_keys()) == stored
    guard.admit(PHONE, "u-2", origin(), account_lock=True)
    with pytest.raises(SendLimitReached):
        guard.admit(PHONE, "u-3", origin(), account_lock=True)


def test_the_lock_stops_sends_only_where_it_applies_and_only_until_it_ends(
    counters: Counters,
) -> None:
    failures = counters.failures(2)
    guard = counters.limits(caps(), failures)
    lock(failures, "u-1", 2)
    # A password reset's send is not under the lock: how the owner gets back in
    guard.admit(PHONE, "u-1", origin())
    counters.clock.advance(LOCKOUT - 1)
    with pytest.raises(AccountLocked) as locked:
        guard.admit(PHONE, "u-1", origin(), account_lock=True)
    assert locked.value.retry_after == 1
    # Once the lockout has passed, though DynamoDB may not have deleted the item yet
    counters.clock.advance(1)
    guard.admit(PHONE, "u-1", origin(), account_lock=True)
    # Below the cap, failures are no lock
    failures.reserve("u-2")
    guard.admit(phone(2), "u-2", origin(), account_lock=True)


def test_a_locked_account_at_its_send_cap_is_answered_locked(counters: Counters) -> None:
    # Given an account that has had its one send this hour, then got locked
    failures = counters.failures(3)
    guard = counters.limits(caps(per_account=1, budget=1), failures)
    guard.admit(PHONE, "u-1", origin(), account_lock=True)
    lock(failures, "u-1", 3)
    # When it asks for another code, refused by its cap, the budget and the lock at once
    with pytest.raises(AccountLocked) as locked:
        guard.admit(PHONE, "u-1", origin(), account_lock=True)
    # Then the answer is the lock (as when it was read before the send limits)
    assert locked.value.retry_after == LOCKOUT
    assert METRIC_BUDGET_EXHAUSTED not in counters.metrics


# -- races on the real engine ---------------------------------------------------------------
def _race(calls: int, action: Callable[[int], object]) -> list[object]:
    def run(n: int) -> object:
        try:
            return action(n)
        except Exception as exc:
            return exc

    with ThreadPoolExecutor(max_workers=calls) as pool:
        return list(pool.map(run, range(calls)))


def test_thirty_concurrent_sends_to_one_phone_admit_exactly_its_cap(real_engine: Counters) -> None:
    guard = real_engine.limits(caps(per_phone=10))
    outcomes = _race(30, lambda n: guard.admit(PHONE, f"u-{n}", origin(f"198.51.100.{n}")))
    admitted = [o for o in outcomes if not isinstance(o, Exception)]
    refused = [o for o in outcomes if isinstance(o, SendLimitReached)]
    assert len(admitted) == 10, outcomes
    assert len(refused) == 20, outcomes


def test_concurrent_sends_cannot_overspend_the_global_budget(real_engine: Counters) -> None:
    guard = real_engine.limits(caps(budget=7))
    outcomes = _race(30, lambda n: guard.admit(phone(n), f"u-{n}", origin(f"198.51.100.{n}")))
    assert sum(not isinstance(o, Exception) for o in outcomes) == 7, outcomes
    assert sum(isinstance(o, SendBudgetExhausted) for o in outcomes) == 23, outcomes


def test_thirty_concurrent_failures_count_exactly_to_the_cap(real_engine: Counters) -> None:
    failures = real_engine.failures(10)
    outcomes = _race(30, lambda n: failures.reserve("u-1"))
    counted = sorted(o for o in outcomes if isinstance(o, int))
    assert counted == list(range(10)), outcomes
    assert sum(isinstance(o, AccountLocked) for o in outcomes) == 20, outcomes


def test_a_hundred_concurrent_sends_from_different_phones_and_addresses_are_all_admitted(
    real_engine: Counters,
) -> None:
    # Given the production caps (the budget in its default shards)
    guard = real_engine.limits(SendCaps())
    # When a hundred people ask for a code at the same moment
    outcomes = _race(100, lambda n: guard.admit(phone(n), f"u-{n}", origin(f"198.51.{n}.7")))
    # Then nobody is told to come back later
    assert [o for o in outcomes if isinstance(o, Exception)] == []
    # and the budget counted them spread over its shards, not on one hot item (a shard's
    # count is Binomial(100, 1/10): above 30 about once in 10^8 runs)
    counts = budget_counts(real_engine)
    assert sum(counts.values()) == 100
    assert len(counts) > 5 and max(counts.values()) <= 30, counts


def test_concurrent_sends_spend_a_sharded_budget_exactly(real_engine: Counters) -> None:
    # Given a budget of 25 split over 10 shards of 2 or 3 sends
    guard = real_engine.limits(caps(budget=25))
    # When 60 sends race for it
    outcomes = _race(60, lambda n: guard.admit(phone(n), f"u-{n}", origin(f"198.51.100.{n}")))
    # Then exactly the budget is admitted, every other send is the breaker's 503
    assert sum(not isinstance(o, Exception) for o in outcomes) == 25, outcomes
    assert sum(isinstance(o, SendBudgetExhausted) for o in outcomes) == 35, outcomes
    assert sorted(budget_counts(real_engine).values()) == [2] * 5 + [3] * 5
    # and a send after the race is refused too, by any execution environment
    fresh = real_engine.limits(caps(budget=25))
    with pytest.raises(SendBudgetExhausted):
        fresh.admit(phone(99), "u-99", origin("192.0.2.99"))


def budget_counts(counters: Counters) -> dict[str, int]:
    """The stored count of each budget shard of the current window."""
    client, table = counters.client, counters.table
    items = client.scan(TableName=table)["Items"]
    return {i["pk"]["S"]: int(i["sends"]["N"]) for i in items if i["pk"]["S"].startswith("global#")}
