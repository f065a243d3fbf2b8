"""The payment reconciler end to end: the local stack (DynamoDB Local, the Telnyx emulator,
the real handlers behind the gateway) runs PaymentsReconcileFunction as its schedule would
(LocalStack.reconcile_payments). Payments left as a killed confirm leaves them (the payment
item moved to `processing` an hour ago, the charge gone through or not) are settled once, the
ledger holds each at most once, and the payer then reads completed or failed from
GET /verify/status?payment_id=."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from tests.support import payments
from tests.support.payments import bearer, ledger_entries
from tests.support.stacks import dynamodb_of, running_stack

LONG_AGO = 3_600  # seconds: far past the grace period (the stack's clock is the real one)


@pytest.fixture(scope="module")
def stack(dynamodb_local_endpoint: str) -> Iterator[LocalStack]:
    env = {"PAYMENT_RECONCILE_GRACE_SECS": "30"}
    with running_stack(dynamodb_local_endpoint, gateway_env=env) as running:
        yield running


@pytest.fixture(scope="module")
def token(stack: LocalStack) -> str:
    return payments.demo_token(stack)


def left_processing(stack: LocalStack, api: httpx.Client, token: str, *, charged: bool) -> str:
    """A payment whose confirm died after writing `processing` (and, if `charged`, after its
    charge went through): what the function's conditional writes leave behind."""
    body = {"amount": "250.00", "currency": "USD", "recipient": f"Acme {uuid.uuid4().hex[:8]}"}
    started = api.post("/payments/initiate", json=body, headers=bearer(token))
    assert started.status_code == 200, started.text
    payment_id: str = started.json()["payment_id"]
    dynamodb, since = dynamodb_of(stack.aws_env), time.time() - LONG_AGO
    dynamodb.update_item(
        TableName="PaymentsTable",
        Key={"payment_id": {"S": payment_id}},
        UpdateExpression="SET #s = :p, unsettled = :u, unsettled_since = :t",
        ConditionExpression="#s = :pending",
        ExpressionAttributeNames={"#s": "status"},
        ExpressionAttributeValues={
            ":p": {"S": "processing"},
            ":pending": {"S": "pending"},
            ":u": {"S": "payment"},
            ":t": {"N": str(since)},
        },
    )
    if charged:
        item = dynamodb.get_item(TableName="PaymentsTable", Key={"payment_id": {"S": payment_id}})
        row = item["Item"]
        dynamodb.put_item(
            TableName="LedgerTable",
            Item={
                "payment_id": {"S": payment_id},
                "transaction_id": {"S": "txn_" + uuid.uuid4().hex[:24]},
                **{k: row[k] for k in ("user_id", "amount", "currency", "recipient")},
                "created_at": {"N": str(since)},
            },
        )
    return payment_id


def payment_status(api: httpx.Client, token: str, payment_id: str) -> dict[str, Any]:
    response = api.get("/verify/status", params={"payment_id": payment_id}, headers=bearer(token))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def test_payments_left_processing_are_settled_once_and_the_payer_sees_the_outcome(
    stack: LocalStack, api: httpx.Client, token: str
) -> None:
    # Given one payment charged but never completed, one never charged
    charged = left_processing(stack, api, token, charged=True)
    lost = left_processing(stack, api, token, charged=False)
    assert payment_status(api, token, charged)["payment_status"] == "processing"
    # When the schedule runs the reconciler (twice: the second finds nothing left)
    first = stack.reconcile_payments()
    second = stack.reconcile_payments()
    # Then the charged one is completed and the other failed, each once
    assert first["outcomes"] == {"completed": 1, "failed": 1}, first
    assert second["outcomes"] == {}, second
    assert second["oldest_unsettled_secs"] < LONG_AGO
    assert payment_status(api, token, charged)["payment_status"] == "completed"
    assert payment_status(api, token, lost)["payment_status"] == "failed"
    dynamodb = dynamodb_of(stack.aws_env)
    [entry] = ledger_entries(dynamodb, charged)
    assert "voided" not in entry  # the one charge, not another
    [void] = ledger_entries(dynamodb, lost)
    assert void["voided"] == {"BOOL": True} and "transaction_id" not in void
