"""One contract for a payment's confirmation claim: the in-memory fake the unit tests use and
the DynamoDB repository on moto. The claim answers with the payment as it was, written or not,
so /payments/confirm reads nothing before it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.payments import DynamoPaymentRepository
from phoneverify.domain.models import Payment, PaymentStatus
from phoneverify.ports.payments import PaymentRepository, PaymentWrite
from tests.support.fakes import InMemoryPayments
from tests.support.tables import fresh_table

NOW = 1_800_000_000.0
PAYMENT = Payment(
    payment_id="pay-1",
    user_id="u-payer",
    amount="250.00",
    currency="USD",
    recipient="Acme Supplies",
    description=None,
    status=PaymentStatus.PENDING,
    created_at=NOW,
    flow_id="flow-1",
    expires_at=NOW + 300,
)


@pytest.fixture(params=["memory", "moto"])
def payments(request: pytest.FixtureRequest) -> Iterator[PaymentRepository]:
    if request.param == "memory":
        yield InMemoryPayments()
        return
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        yield DynamoPaymentRepository(client, fresh_table(client, "PaymentsTable"))


def test_a_claim_answers_with_the_payment_and_holds_it(payments: PaymentRepository) -> None:
    payments.create(PAYMENT)
    assert payments.claim("pay-1", "u-payer", "tok-a", NOW, 30) == PaymentWrite(True, PAYMENT)
    # A second confirmation meanwhile is refused, and told which payment it found: unsettled
    # since the first claim (the reconciler's mark: its code may be accepted from now on)
    claimed = replace(PAYMENT, unsettled_since=NOW)
    assert payments.claim("pay-1", "u-payer", "tok-b", NOW + 1, 30) == PaymentWrite(False, claimed)
    # until the lease lapses
    assert payments.claim("pay-1", "u-payer", "tok-b", NOW + 30, 30).done


@pytest.mark.parametrize(
    ("user_id", "now", "status"),
    [
        ("u-other", NOW, PaymentStatus.PENDING),
        ("u-payer", NOW + 300, PaymentStatus.PENDING),
        ("u-payer", NOW, PaymentStatus.COMPLETED),
    ],
    ids=["someone-else's", "expired", "not-pending"],
)
def test_no_claim_on_a_payment_that_cannot_be_confirmed(
    payments: PaymentRepository, user_id: str, now: float, status: PaymentStatus
) -> None:
    stored = replace(PAYMENT, status=status)
    payments.create(stored)
    assert payments.claim("pay-1", user_id, "tok", now, 30) == PaymentWrite(False, stored)
    assert payments.claim("missing", "u-payer", "tok", NOW, 30) == PaymentWrite(False, None)
