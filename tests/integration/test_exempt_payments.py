"""One contract for the count of payments made without a code (PSD2 RTS Art. 16): the
in-memory fake the unit tests use, and DynamoExemptPayments on moto and on AWS's DynamoDB
Local (the real engine, for the race)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.payments import DynamoExemptPayments, exempt_key
from phoneverify.domain.models import Exemption, StepUpReason
from phoneverify.ports import ExemptPayments
from tests.support.fakes import InMemoryExemptPayments
from tests.support.tables import fresh_table

USER = "u-phone"
LIMIT = 10_000  # 100.00 USD in cents
NOW = 1_800_000_000.0


def payments_table(client: Any) -> str:
    return fresh_table(client, "PaymentsTable")


def dynamo_exemptions(client: Any) -> DynamoExemptPayments:
    return DynamoExemptPayments(client, payments_table(client))


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def exemptions(request: pytest.FixtureRequest) -> Iterator[ExemptPayments]:
    yield from each_store(request)


@pytest.fixture(params=["memory", "dynamodb-local"])
def racing(request: pytest.FixtureRequest) -> Iterator[ExemptPayments]:
    """Races need a real engine: moto does not apply conditions atomically across threads."""
    yield from each_store(request)


def each_store(request: pytest.FixtureRequest) -> Iterator[ExemptPayments]:
    if request.param == "memory":
        yield InMemoryExemptPayments()
    elif request.param == "moto":
        with mock_aws():
            yield dynamo_exemptions(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        yield dynamo_exemptions(client)


@pytest.fixture(params=["moto", "dynamodb-local"])
def engine(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A DynamoDB client of either engine."""
    if request.param == "moto":
        with mock_aws():
            yield boto3.client("dynamodb", region_name="us-east-1")
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        yield boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


def reserve(
    exemptions: ExemptPayments,
    amount: int,
    currency: str = "USD",
    *,
    user: str = USER,
    limit: int = LIMIT,
    max_payments: int = 5,
) -> Exemption | StepUpReason:
    return exemptions.reserve(
        user, currency, amount, cumulative_limit_minor=limit, max_payments=max_payments, now=NOW
    )


def test_payments_are_counted_while_their_sum_stays_below_the_limit(
    exemptions: ExemptPayments,
) -> None:
    # Given 99.99 counted
    first = reserve(exemptions, 9_999)
    assert isinstance(first, Exemption) and first.amount_minor == 9_999
    # When 0.01 more would reach 100.00, and 0.01 of another currency would not
    # Then the first is refused as cumulative, the second counted
    assert reserve(exemptions, 1) == StepUpReason.CUMULATIVE_AMOUNT
    assert isinstance(reserve(exemptions, 1, "EUR"), Exemption)
    # and another account has a count of its own
    assert isinstance(reserve(exemptions, 9_999, user="u-other"), Exemption)


def test_at_most_five_payments_are_counted_across_currencies(
    exemptions: ExemptPayments,
) -> None:
    for currency in ("USD", "EUR", "GBP", "USD", "JPY"):
        assert isinstance(reserve(exemptions, 100, currency), Exemption)
    assert reserve(exemptions, 100, "CHF") == StepUpReason.PAYMENT_COUNT
    # When both limits are reached, the money is the reason given
    assert reserve(exemptions, LIMIT - 100) == StepUpReason.CUMULATIVE_AMOUNT


def test_a_reservation_given_back_frees_its_count_and_its_amount(
    exemptions: ExemptPayments,
) -> None:
    # Given 60.00 counted, then given back (the payment was declined)
    first = reserve(exemptions, 6_000)
    assert isinstance(first, Exemption)
    exemptions.give_back(first)
    # When 60.00 is asked again, five times over
    answers = [reserve(exemptions, 1_000) for _ in range(5)]
    # Then the first 60.00 counts for nothing
    assert all(isinstance(answer, Exemption) for answer in answers)
    # and giving back twice takes nothing more
    exemptions.give_back(first)
    assert reserve(exemptions, 1_000) == StepUpReason.PAYMENT_COUNT


def test_a_reset_starts_over_and_an_older_reservation_cannot_be_given_back_after_it(
    exemptions: ExemptPayments,
) -> None:
    # Given 99.00 counted before a verified payment reset the count
    before = reserve(exemptions, 9_900)
    assert isinstance(before, Exemption)
    exemptions.reset(USER)
    # When 99.00 is counted again, and the older reservation is given back
    after = reserve(exemptions, 9_900)
    assert isinstance(after, Exemption)
    exemptions.give_back(before)
    # Then the new count keeps its 99.00
    assert reserve(exemptions, 100) == StepUpReason.CUMULATIVE_AMOUNT
    # and resetting an account with nothing counted is harmless
    exemptions.reset("u-nobody")


def test_concurrent_reservations_never_pass_the_limits_together(racing: ExemptPayments) -> None:
    # When twenty 60.00 USD payments are counted at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: reserve(racing, 6_000), range(20)))
    # Then one is counted, and nineteen refused because of the sum
    assert sum(isinstance(answer, Exemption) for answer in answers) == 1, answers
    assert answers.count(StepUpReason.CUMULATIVE_AMOUNT) == 19


def test_the_item_sits_under_a_key_no_payment_id_can_take() -> None:
    # Payment ids are `pay_` + hex, and the API refuses ids with `#`.
    assert exempt_key(USER) == "exempt#u-phone"


def test_each_call_is_one_round_trip_and_a_refusal_needs_no_read(engine: Any) -> None:
    # Given the adapter, with every DynamoDB call it makes recorded
    exemptions = dynamo_exemptions(engine)
    calls: list[str] = []
    engine.meta.events.register(
        "before-call.dynamodb.*", lambda model, **_: calls.append(model.name)
    )
    # When a payment is counted, one is refused, one is given back and the count is reset
    counted = reserve(exemptions, 9_900)
    assert isinstance(counted, Exemption)
    assert reserve(exemptions, 100) == StepUpReason.CUMULATIVE_AMOUNT
    exemptions.give_back(counted)
    exemptions.reset(USER)
    # Then each was one write: the refusal's reason came back with the failed condition
    assert calls == ["UpdateItem", "UpdateItem", "UpdateItem", "DeleteItem"]
