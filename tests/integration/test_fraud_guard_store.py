"""One contract for the fraud guard's storage: the in-memory fake the unit tests use, and the
DynamoDB adapter (riding in the send limits' transaction) on moto and on AWS's DynamoDB Local,
whose transactions the concurrent sends race on."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.fraud_guard import DynamoFraudGuard
from phoneverify.adapters.dynamo.send_limits import DynamoSendLimits
from phoneverify.adapters.dynamo.toolkit import to_item
from phoneverify.domain.errors import PhoneNotAllowed, PrefixHeld
from phoneverify.domain.fraud import FraudPolicy, FraudRules, PrefixTripped
from phoneverify.domain.models import RequestOrigin
from phoneverify.domain.send_limits import SendCaps
from phoneverify.domain.tiers import SendTier
from phoneverify.ports.abuse import PrefixGuard, SendGuard
from tests.support.fakes import FakeClock, InMemoryFraudGuard, InMemorySendLimits
from tests.support.tables import rate_limits_table

HOUR = 3_600
HOLD = 6 * HOUR
BIG = 100_000
PUMPED = "+1415556"
POLICY = FraudPolicy(min_codes=8, min_conversion_percent=20, hold_secs=HOLD)
CAPS = SendCaps(per_phone=BIG, per_ip=BIG, per_account=BIG, budget=BIG, window_secs=HOUR)
UNPROVEN = SendTier.UNPROVEN


def source(n: int) -> RequestOrigin:
    return RequestOrigin(source_ip=f"198.51.{n // 250}.{n % 250 + 1}", user_agent="pytest")


def number(prefix: str, n: int) -> str:
    return f"{prefix}{n:04d}"


@dataclass
class Guarded:
    clock: FakeClock
    limits: SendGuard
    prefixes: PrefixGuard
    set_rules: Callable[[FraudRules], None]

    def send(self, phone: str, n: int, **flags: bool) -> None:
        self.limits.admit(phone, f"s-{n}", source(n), tier=UNPROVEN, **flags)


def dynamo_guarded(client: Any) -> Guarded:
    table = rate_limits_table(client)
    clock = FakeClock()
    fraud = DynamoFraudGuard(client, table, POLICY, clock, rules_max_age_secs=0)
    limits = DynamoSendLimits(client, table, CAPS, clock, fraud=fraud)

    def set_rules(rules: FraudRules) -> None:
        # As the admin command writes them: string sets on one item (empty sets are absent).
        lists = {name: set(getattr(rules, name)) for name in rules.__dataclass_fields__}
        item = {"pk": "rules#fraud", "version": 1, **{k: v for k, v in lists.items() if v}}
        client.put_item(TableName=table, Item=to_item(item))

    return Guarded(clock, limits, fraud, set_rules)


def memory_guarded() -> Guarded:
    clock = FakeClock()
    fraud = InMemoryFraudGuard(clock, POLICY)
    limits = InMemorySendLimits(clock, CAPS, fraud=fraud)

    def set_rules(rules: FraudRules) -> None:
        fraud.rules = rules

    return Guarded(clock, limits, fraud, set_rules)  # type: ignore[arg-type]


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def guarded(request: pytest.FixtureRequest) -> Iterator[Guarded]:
    if request.param == "memory":
        yield memory_guarded()
    elif request.param == "moto":
        with mock_aws():
            yield dynamo_guarded(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        yield dynamo_guarded(client)


def pump(g: Guarded, prefix: str, count: int, start: int = 0) -> None:
    for n in range(start, start + count):
        g.send(number(prefix, n), n)


def test_a_prefix_trips_after_its_share_and_its_hold_outlives_the_window(g: Guarded) -> None:
    pump(g, PUMPED, 8)
    with pytest.raises(PrefixTripped) as tripped:
        g.send(number(PUMPED, 100), 100)
    [hold] = g.prefixes.hold(tripped.value)
    assert (hold.scope, hold.target, hold.until) == ("prefix", PUMPED, g.clock.now() + HOLD)
    assert g.prefixes.hold(tripped.value) == []  # placed once
    g.clock.advance(HOUR)  # a new window: the counter is fresh, the hold is not
    with pytest.raises(PrefixHeld) as held:
        g.send(number(PUMPED, 101), 101)
    assert not isinstance(held.value, PrefixTripped)
    assert held.value.retry_after == HOLD - HOUR
    g.send(number("+1415557", 1), 1)
    g.clock.advance(HOLD)
    g.send(number(PUMPED, 102), 102)


def test_entered_codes_keep_a_prefix_open(g: Guarded) -> None:
    pump(g, PUMPED, 8)
    sent_at = g.clock.now()
    g.clock.advance(60)
    for n in range(2):  # 2 of 10 entered: exactly the 20 %
        g.prefixes.count_verified(number(PUMPED, n), sent_at)
    pump(g, PUMPED, 3, start=8)  # 2 of 10 entered is 20 %: the eleventh still goes
    with pytest.raises(PrefixTripped):  # 2 of 11 is under it
        g.send(number(PUMPED, 11), 11)


def test_a_released_send_does_not_count_for_its_prefix(g: Guarded) -> None:
    for n in range(5):
        permit = g.limits.admit(number(PUMPED, n), f"s-{n}", source(n), tier=UNPROVEN)
        g.limits.release(permit)
    pump(g, PUMPED, 8, start=10)
    with pytest.raises(PrefixTripped):
        g.send(number(PUMPED, 50), 50)


def test_a_vouched_send_passes_a_hold_and_still_counts(g: Guarded) -> None:
    pump(g, PUMPED, 8)
    with pytest.raises(PrefixTripped) as tripped:
        g.send(number(PUMPED, 100), 100)
    g.prefixes.hold(tripped.value)
    g.send(number(PUMPED, 101), 101, vouched=True)
    with pytest.raises(PrefixHeld):
        g.send(number(PUMPED, 102), 102)


def test_a_country_is_held_once_enough_of_its_prefixes_are(g: Guarded) -> None:
    placed = []
    for prefix in (f"+1415{n}" for n in range(560, 565)):
        pump(g, prefix, 8)
        with pytest.raises(PrefixTripped) as tripped:
            g.send(number(prefix, 100), 100)
        placed += g.prefixes.hold(tripped.value)
    assert [(h.scope, h.target) for h in placed[-2:]] == [("prefix", "+1415564"), ("country", "US")]
    with pytest.raises(PrefixHeld):
        g.send(number("+1212555", 1), 1)
    g.send("+447400123456", 2)


def test_operators_lists_take_effect(g: Guarded) -> None:
    g.set_rules(FraudRules(deny_countries=frozenset({"GB"}), allow_prefixes=frozenset({PUMPED})))
    with pytest.raises(PhoneNotAllowed):
        g.send("+447400123456", 1)
    pump(g, PUMPED, 20)  # allowed: never held
    g.set_rules(FraudRules())
    g.send("+447400123456", 2)


def test_concurrent_sends_to_one_prefix_admit_exactly_its_share(
    g: Guarded, request: pytest.FixtureRequest
) -> None:
    if "moto" in request.node.callspec.id:
        pytest.skip("moto's backend is not thread-safe: the race is run on the real engine")

    def send(n: int) -> str:
        try:
            g.send(number(PUMPED, n), n)
            return "sent"
        except PrefixHeld:
            return "held"

    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(pool.map(send, range(30)))
    assert answers.count("sent") == 8
    assert answers.count("held") == 22


@pytest.fixture
def g(guarded: Guarded) -> Guarded:
    guarded.clock.advance(600)
    return guarded
