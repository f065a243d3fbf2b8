"""The payment reconciler in the round-trip table (tests/support/round_trips.py):
functions/payments_reconcile run as its schedule runs it, once with nothing due and once with
a payment left `processing` past the grace period. It has no route, so it is loaded here,
beside the stack's functions, over the same moto tables."""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

import boto3
import pytest

from phoneverify.adapters.dynamo.payments import DynamoPaymentRepository
from phoneverify.domain.models import Payment, PaymentStatus
from tests.support.lambda_env import LambdaContext, load_function, template_environment

if TYPE_CHECKING:
    from tests.support.round_trips import _Measured

NAME = "payments_reconcile"
SCHEDULED = {"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}}


def measure_reconcile(run: _Measured, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.round_trips import watch

    function = load_function(NAME, monkeypatch, template_environment("PaymentsReconcileFunction"))
    context = LambdaContext(function_name="PaymentsReconcileFunction")

    def reconcile(expected: dict[str, int]) -> tuple[int, dict[str, Any], dict[str, str]]:
        answer = function.lambda_handler(SCHEDULED, context)
        assert answer["outcomes"] == expected, answer
        return 200, answer, {}

    # Runs left by the stack's own payments (all settled) first, uncounted.
    function.lambda_handler(SCHEDULED, context)
    watch(function, NAME)
    run.measure("Payments reconcile (nothing due)", lambda: reconcile({}))
    long_ago = time.time() - 3_600
    # Written by another client: the reconciler's own policy has no PutItem on the payments.
    env = template_environment("PaymentsReconcileFunction")
    unwatched = boto3.client("dynamodb", region_name=function.runtime.dynamodb.meta.region_name)
    DynamoPaymentRepository(unwatched, env["PAYMENTS_TABLE"]).create(
        Payment(
            payment_id="pay_" + uuid.uuid4().hex,
            user_id="u-reconciled",
            amount="250.00",
            currency="USD",
            recipient="Acme Supplies",
            description=None,
            status=PaymentStatus.PROCESSING,
            created_at=long_ago,
            unsettled_since=long_ago,
        )
    )
    run.measure("Payments reconcile (left processing)", lambda: reconcile({"failed": 1}))
