"""One contract for the processor's settlement by payment id (the reconciler's question):
the in-memory ledger the unit tests use and LedgerPaymentProcessor on moto. A payment id has
one outcome for good: charged (the first transaction id), or voided, after which a charge of
it is declined and moves nothing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.ledger import LedgerPaymentProcessor
from phoneverify.domain.models import Payment, PaymentStatus
from phoneverify.domain.payment_errors import PaymentDeclined
from phoneverify.ports.payments import PaymentProcessor, ProcessorSettlement, Settlement
from tests.support.fakes import FakeClock, InMemoryLedger
from tests.support.tables import fresh_table

NOW = 1_800_000_000.0


def payment(payment_id: str = "pay_1") -> Payment:
    return Payment(payment_id, "u-1", "250.00", "USD", "Acme", None, PaymentStatus.PROCESSING, NOW)


@pytest.fixture(params=["memory", "moto"])
def processor(request: pytest.FixtureRequest) -> Iterator[PaymentProcessor]:
    if request.param == "memory":
        yield InMemoryLedger()
        return
    with mock_aws():
        client: Any = boto3.client("dynamodb", region_name="us-east-1")
        yield LedgerPaymentProcessor(client, fresh_table(client, "LedgerTable"), FakeClock(NOW))


def test_a_charged_payment_settles_as_charged_with_its_first_transaction(
    processor: PaymentProcessor,
) -> None:
    txn = processor.charge(payment())
    assert processor.settle(payment()) == ProcessorSettlement(Settlement.CHARGED, txn)
    assert processor.settle(payment()) == ProcessorSettlement(Settlement.CHARGED, txn)
    assert processor.charge(payment()) == txn  # a retry still answers the first charge


def test_a_payment_never_charged_is_voided_and_a_late_charge_is_declined(
    processor: PaymentProcessor,
) -> None:
    assert processor.settle(payment()) == ProcessorSettlement(Settlement.NOT_CHARGED)
    with pytest.raises(PaymentDeclined):
        processor.charge(payment())  # the confirm that died, woken up: it never wins
    assert processor.settle(payment()) == ProcessorSettlement(Settlement.NOT_CHARGED)


def test_settling_one_payment_leaves_the_others_alone(processor: PaymentProcessor) -> None:
    processor.settle(payment("pay_1"))
    assert processor.charge(payment("pay_2")).startswith("txn_")
