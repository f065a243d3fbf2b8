"""One contract for the count of payments made without a code (PSD2 RTS Art. 16), written
with its payment and under the account lock in one transaction: the in-memory fake the unit
tests use, and DynamoExemptPayments on moto and on AWS's DynamoDB Local (the real engine, for
the race)."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock
from phoneverify.adapters.dynamo.exempt_payments import DynamoExemptPayments, exempt_key
from phoneverify.adapters.dynamo.payments import DynamoPaymentRepository
from phoneverify.domain.errors import AccountLocked
from phoneverify.domain.models import Exemption, Payment, PaymentStatus, StepUpReason
from phoneverify.ports.payments import ExemptPayments, PaymentRepository
from tests.support.fakes import (
    FakeClock,
    InMemoryAccountLock,
    InMemoryExemptPayments,
    InMemoryPayments,
)
from tests.support.tables import fresh_table, rate_limits_table

USER = "u-phone"
LIMIT = 10_000  # 100.00 USD in cents
NOW = 1_800_000_000.0
MAX_FAILURES = 100
LOCKOUT = 1_800


@dataclass
class Store:
    """One engine's count, the payments it writes, and how to lock an account on it."""

    exemptions: ExemptPayments
    payments: PaymentRepository
    lock: Callable[[str], None]  # the account locked for 600 s from NOW


def dynamo_store(client: Any) -> Store:
    table = fresh_table(client, "PaymentsTable")
    limits = rate_limits_table(client)
    failures = DynamoAccountLock(
        client, limits, max_failures=MAX_FAILURES, lockout_secs=LOCKOUT, clock=FakeClock(NOW)
    )

    def lock(user: str) -> None:
        client.put_item(
            TableName=limits,
            Item={
                "pk": {"S": f"fail#{user}"},
                "failures": {"N": str(MAX_FAILURES)},
                "ttl": {"N": str(int(NOW) + 600)},
            },
        )

    return Store(
        DynamoExemptPayments(client, table, failures), DynamoPaymentRepository(client, table), lock
    )


def memory_store() -> Store:
    payments = InMemoryPayments()
    failures = InMemoryAccountLock(FakeClock(NOW), max_failures=MAX_FAILURES, lockout_secs=LOCKOUT)

    def lock(user: str) -> None:
        failures.counts[user] = (MAX_FAILURES, NOW + 600)

    return Store(InMemoryExemptPayments(payments, failures), payments, lock)


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from each_store(request)


@pytest.fixture
def exemptions(store: Store) -> ExemptPayments:
    return store.exemptions


@pytest.fixture(params=["memory", "dynamodb-local"])
def racing(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Races need a real engine: moto does not apply conditions atomically across threads."""
    yield from each_store(request)


def each_store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield memory_store()
    elif request.param == "moto":
        with mock_aws():
            yield dynamo_store(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        yield dynamo_store(client)


@pytest.fixture(params=["moto", "dynamodb-local"])
def engine(request: pytest.FixtureRequest) -> Iterator[Any]:
    """A DynamoDB client of either engine."""
    if request.param == "moto":
        with mock_aws():
            yield boto3.client("dynamodb", region_name="us-east-1")
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        yield boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


def small_payment(amount: int, currency: str = "USD", user: str = USER) -> Payment:
    return Payment(
        payment_id="pay_" + secrets.token_hex(16),
        user_id=user,
        amount=f"{amount / 100:.2f}",
        currency=currency,
        recipient="Acme Supplies",
        description=None,
        status=PaymentStatus.PROCESSING,
        created_at=NOW,
    )


def reserve(
    exemptions: ExemptPayments,
    amount: int,
    currency: str = "USD",
    *,
    user: str = USER,
    limit: int = LIMIT,
    max_payments: int = 5,
    payment: Payment | None = None,
) -> Exemption | StepUpReason:
    """`amount`: the payment converted to the reference currency (USD), in cents, as the flow
    passes it; `currency` the payment's own."""
    return exemptions.reserve_and_create(
        payment or small_payment(amount, currency, user),
        amount,
        sum_currency="USD",
        cumulative_limit_minor=limit,
        max_payments=max_payments,
        now=NOW,
    )


def test_payments_are_counted_while_their_sum_stays_below_the_limit(store: Store) -> None:
    exemptions = store.exemptions
    # Given 99.99 counted, and its payment written with the count
    payment = small_payment(9_999)
    first = reserve(exemptions, 9_999, payment=payment)
    assert isinstance(first, Exemption) and first.amount_minor == 9_999
    # with what giving its count back needs (the reconciler's, for one left processing)
    assert store.payments.get(payment.payment_id) == replace(payment, exemption=first)
    # When 0.01 more would reach 100.00, in USD or in another currency (converted: one sum)
    # Then both are refused as cumulative, and neither is written
    refused = small_payment(1)
    assert reserve(exemptions, 1, payment=refused) == StepUpReason.CUMULATIVE_AMOUNT
    assert store.payments.get(refused.payment_id) is None
    in_euros = small_payment(1, "EUR")
    assert reserve(exemptions, 1, payment=in_euros) == StepUpReason.CUMULATIVE_AMOUNT
    assert store.payments.get(in_euros.payment_id) is None
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


def test_a_locked_account_counts_and_writes_nothing(store: Store) -> None:
    # Given 99.00 counted, then the account locked by wrong codes for 600 s more
    assert isinstance(reserve(store.exemptions, 9_900), Exemption)
    store.lock(USER)
    # When 0.50 is paid
    payment = small_payment(50)
    with pytest.raises(AccountLocked) as caught:
        reserve(store.exemptions, 50, payment=payment)
    # Then it is refused with the lock's Retry-After, and its payment is not written
    assert caught.value.retry_after == 600
    assert store.payments.get(payment.payment_id) is None
    # and not counted: 0.99 still fits the count (only the lock refuses it), 1.00 does not
    # (a refused count answers why before the lock)
    with pytest.raises(AccountLocked):
        reserve(store.exemptions, 99)
    assert reserve(store.exemptions, 100) == StepUpReason.CUMULATIVE_AMOUNT


def test_concurrent_reservations_never_pass_the_limits_together(racing: Store) -> None:
    # When twenty 60.00 USD payments are counted at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: reserve(racing.exemptions, 6_000), range(20)))
    # Then one is counted, and nineteen refused because of the sum
    assert sum(isinstance(answer, Exemption) for answer in answers) == 1, answers
    assert answers.count(StepUpReason.CUMULATIVE_AMOUNT) == 19


def test_the_item_sits_under_a_key_no_payment_id_can_take() -> None:
    # Payment ids are `pay_` + hex, and the API refuses ids with `#`.
    assert exempt_key(USER) == "exempt#u-phone"


def test_each_call_is_one_round_trip_and_a_refusal_needs_no_read(engine: Any) -> None:
    # Given the adapter, with every DynamoDB call it makes recorded
    exemptions = dynamo_store(engine).exemptions
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
    # Then each was one write: the count with its payment and the lock's check one
    # transaction, the refusal's reason came back with the failed condition
    assert calls == ["TransactWriteItems", "TransactWriteItems", "UpdateItem", "DeleteItem"]
