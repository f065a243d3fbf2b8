"""Attacks on a payment waiting for its code: details changed behind the API's back, another
user's payment id, a replayed confirmation, and watching someone else's payment code through
GET /verify/status. None of them moves money or tells the attacker anything."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from tests.security.conftest import DEMO_PHONE, PASSWORD, Target, seed_account
from tests.support import payments
from tests.support.payments import bearer, ledger_entries


@pytest.fixture(scope="module")
def demo_token(security_stack: LocalStack) -> str:
    return payments.demo_token(security_stack)


@pytest.fixture(scope="module")
def nophone_token(security_stack: LocalStack) -> str:
    return payments.nophone_token(security_stack)


@pytest.fixture
def dynamodb(target: Target) -> Iterator[Any]:
    yield boto3.client("dynamodb", endpoint_url=target.stack.aws_env["AWS_ENDPOINT_URL_DYNAMODB"])


def initiate(target: Target, token: str) -> str:
    """A 250.00 USD payment (above the threshold) to a recipient of its own; its id."""
    order = {"amount": "250.00", "currency": "USD", "recipient": f"Acme {uuid.uuid4().hex[:8]}"}
    response = target.api.post("/payments/initiate", json=order, headers=bearer(token))
    assert response.status_code == 200, response.text
    assert response.json()["requires_verification"] is True
    payment_id: str = response.json()["payment_id"]
    return payment_id


def confirm(target: Target, token: str, payment_id: str, code: str) -> httpx.Response:
    return target.api.post(
        "/payments/confirm",
        json={"payment_id": payment_id, "code": code},
        headers=bearer(token),
    )


def stored_payment(dynamodb: Any, payment_id: str) -> dict[str, Any]:
    item: dict[str, Any] = dynamodb.get_item(
        TableName="PaymentsTable", Key={"payment_id": {"S": payment_id}}, ConsistentRead=True
    )["Item"]
    return item


@pytest.mark.parametrize(
    ("attribute", "value"),
    [("amount", "25000.00"), ("recipient", "acct-mallory")],
    ids=["amount", "recipient"],
)
def test_a_payment_tampered_with_in_the_table_is_refused_even_with_the_right_code(
    target: Target, demo_token: str, dynamodb: Any, attribute: str, value: str
) -> None:
    # Given a pending 250.00 USD payment, and an attacker with write access to PaymentsTable
    # (but not to the challenge) who changes what will be paid before the payer confirms
    payment_id = initiate(target, demo_token)
    code = target.code_for()
    dynamodb.update_item(
        TableName="PaymentsTable",
        Key={"payment_id": {"S": payment_id}},
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":v": {"S": value}},
    )
    # When the payer confirms with the right code
    response = confirm(target, demo_token, payment_id, code)
    # Then the changed payment is not executed: 409, no ledger entry, and the payment is over
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "payment_details_changed"
    assert "transaction_id" not in response.json()
    assert ledger_entries(dynamodb, payment_id) == []
    assert stored_payment(dynamodb, payment_id)["status"]["S"] == "failed"
    again = confirm(target, demo_token, payment_id, code)
    assert (again.status_code, again.json()["error"]) == (400, "Payment already failed")
    assert ledger_entries(dynamodb, payment_id) == []


def test_another_users_payment_id_is_not_found_and_the_owners_payment_is_untouched(
    target: Target, demo_token: str, nophone_token: str, dynamodb: Any
) -> None:
    # Given the demo user's pending payment, and another user who learnt its id and its code
    payment_id = initiate(target, demo_token)
    code = target.code_for()
    before = stored_payment(dynamodb, payment_id)
    sent_before = len(target.emulator.messages(DEMO_PHONE))
    # When the other user confirms it and asks for a new code for it
    confirmed = confirm(target, nophone_token, payment_id, code)
    resent = target.api.post(
        "/payments/resend", json={"payment_id": payment_id}, headers=bearer(nophone_token)
    )
    # Then both answer as if the payment did not exist, nothing was paid and no SMS went out
    for response in (confirmed, resent):
        assert response.status_code == 404, response.text
        assert response.json()["error"] == "Payment not found"
        assert "transaction_id" not in response.json()
    assert ledger_entries(dynamodb, payment_id) == []
    assert len(target.emulator.messages(DEMO_PHONE)) == sent_before
    assert stored_payment(dynamodb, payment_id) == before
    # and the owner can still confirm it with the same code
    owner = confirm(target, demo_token, payment_id, code)
    assert owner.status_code == 200, owner.text
    assert owner.json()["status"] == "completed"
    assert len(ledger_entries(dynamodb, payment_id)) == 1


def test_replaying_a_successful_confirmation_pays_nothing_more(
    target: Target, demo_token: str, dynamodb: Any
) -> None:
    # Given a payment confirmed with its code
    payment_id = initiate(target, demo_token)
    code = target.code_for()
    first = confirm(target, demo_token, payment_id, code)
    assert first.status_code == 200, first.text
    # When the same confirmation is sent again
    replayed = confirm(target, demo_token, payment_id, code)
    # Then it is refused, and the payment was executed once
    assert replayed.status_code == 400, replayed.text
    assert replayed.json()["error"] == "Payment already completed"
    assert "transaction_id" not in replayed.json()
    [entry] = ledger_entries(dynamodb, payment_id)
    assert entry["transaction_id"]["S"] == first.json()["transaction_id"]
    assert stored_payment(dynamodb, payment_id)["status"]["S"] == "completed"


# -- GET /verify/status?payment_id=…: the payer's code screen, and no one else's ---------------
def status_of(target: Target, query: dict[str, str], token: str | None = None) -> httpx.Response:
    return target.api.get("/verify/status", params=query, headers=bearer(token) if token else {})


def test_an_attacker_learns_nothing_from_the_status_of_someone_elses_payment(
    target: Target, demo_token: str, nophone_token: str
) -> None:
    # Given the demo user's pending payment, whose id an attacker with an account learnt
    payment_id = initiate(target, demo_token)
    # When the attacker asks for its status with their own token, with none, and passes the
    # payment id off as a flow id; and asks about a payment that does not exist
    theirs = status_of(target, {"payment_id": payment_id}, nophone_token)
    unknown = status_of(target, {"payment_id": "pay_" + "0" * 32}, nophone_token)
    anonymous = status_of(target, {"payment_id": payment_id})
    as_flow_id = status_of(target, {"flow_id": payment_id})
    # Then someone else's payment answers exactly as a missing one, and nothing else works
    assert (theirs.status_code, theirs.json()) == (unknown.status_code, unknown.json())
    assert theirs.json() == {"error": "Payment not found", "code": "payment_not_found"}
    assert theirs.status_code == 404
    assert anonymous.status_code == 401
    assert as_flow_id.status_code == 404
    for response in (theirs, anonymous, as_flow_id):
        assert "delivery_status" not in response.json()
    # while the payer follows it
    owner = status_of(target, {"payment_id": payment_id}, demo_token)
    assert owner.status_code == 200, owner.text
    assert owner.json()["status"] == "pending"


def test_a_token_the_payer_ended_cannot_watch_the_payment(target: Target) -> None:
    # Given a payer's pending payment, and a second token of theirs an attacker stole
    account = seed_account(target.stack)
    kept = payments.token_for(target.stack, account.email, PASSWORD, account.phone)
    stolen = payments.token_for(target.stack, account.email, PASSWORD, account.phone)
    payment_id = initiate(target, kept)
    # When the payer ends the stolen token, and the attacker polls the payment with it
    assert target.api.post("/logout", json={}, headers=bearer(stolen)).status_code == 200
    response = status_of(target, {"payment_id": payment_id}, stolen)
    # Then it is refused, and the payer's own session still sees the payment
    assert (response.status_code, response.json()["code"]) == (401, "unauthorized")
    assert status_of(target, {"payment_id": payment_id}, kept).status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"payment_id": "pay_" + "0" * 32, "flow_id": "f" * 43}, "payment_id"),
        ({"payment_id": "pay_' OR '1'='1"}, "payment_id"),
        ({}, "flow_id"),
    ],
    ids=["both", "injection", "neither"],
)
def test_a_malformed_status_query_is_a_400_naming_the_field(
    target: Target, demo_token: str, query: dict[str, str], field: str
) -> None:
    response = status_of(target, query, demo_token)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field
