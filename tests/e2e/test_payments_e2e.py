"""Payment step-up end to end: HTTP through the local gateway, which runs the JWT authorizer
the way API Gateway does, into the real handlers, with DynamoDB Local and the Telnyx emulator."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx
import jwt
import pytest

from devtools.local_stack.stack import LocalStack
from tests.support import payments
from tests.support.payments import bearer, ledger_entries

PHONE = "+14155550123"


@pytest.fixture
def dynamodb(stack: LocalStack) -> Any:
    return boto3.client("dynamodb", endpoint_url=stack.aws_env["AWS_ENDPOINT_URL_DYNAMODB"])


def latest_code(stack: LocalStack) -> str:
    assert stack.emulator is not None
    code = stack.emulator.latest_code(PHONE)
    assert code is not None
    return code


@pytest.fixture(scope="module")
def demo_token(stack: LocalStack) -> str:
    return payments.demo_token(stack)


@pytest.fixture(scope="module")
def nophone_token(stack: LocalStack) -> str:
    return payments.nophone_token(stack)


def order(amount: str = "250.00") -> dict[str, str]:
    # A recipient of its own per payment, to find the payment's items in the shared tables.
    return {"amount": amount, "currency": "USD", "recipient": f"Acme {uuid.uuid4().hex[:8]}"}


def initiate(api: httpx.Client, token: str, body: dict[str, str]) -> dict[str, Any]:
    response = api.post("/payments/initiate", json=body, headers=bearer(token))
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


def payments_to(dynamodb: Any, recipient: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dynamodb.scan(
        TableName="PaymentsTable",
        FilterExpression="recipient = :r",
        ExpressionAttributeValues={":r": {"S": recipient}},
        ConsistentRead=True,
    )["Items"]
    return items


def test_a_payment_above_the_threshold_completes_with_the_code_from_the_sms(
    stack: LocalStack, api: httpx.Client, demo_token: str, dynamodb: Any
) -> None:
    # Given
    started = initiate(api, demo_token, order("250.00"))
    assert started["requires_verification"] is True
    assert (started["amount"], started["currency"]) == ("250.00", "USD")
    assert started["phone_hint"] == "+1******0123" and started["timeout_secs"] == 300
    # When
    response = api.post(
        "/payments/confirm",
        json={"payment_id": started["payment_id"], "code": latest_code(stack)},
        headers=bearer(demo_token),
    )
    # Then
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "completed" and body["payment_id"] == started["payment_id"]
    [entry] = ledger_entries(dynamodb, started["payment_id"])
    assert entry["transaction_id"]["S"] == body["transaction_id"]


def test_a_payment_below_the_threshold_completes_without_a_code(
    stack: LocalStack, api: httpx.Client, demo_token: str, dynamodb: Any
) -> None:
    assert stack.emulator is not None
    sent_before = len(stack.emulator.messages(PHONE))
    body = initiate(api, demo_token, order("50.00"))
    assert body["status"] == "completed" and body["transaction_id"]
    assert len(stack.emulator.messages(PHONE)) == sent_before
    assert len(ledger_entries(dynamodb, body["payment_id"])) == 1


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Basic ZGVtbzpkZW1v"},
        {"Authorization": "Bearer not-a-jwt"},
    ],
    ids=["no-token", "basic", "garbage"],
)
def test_without_a_valid_token_the_authorizer_answers_401(
    api: httpx.Client, headers: dict[str, str]
) -> None:
    response = api.post("/payments/initiate", json=order(), headers=headers)
    assert response.status_code == 401
    assert response.json() == {"error": "Unauthorized", "code": "unauthorized"}


def test_a_forged_token_is_refused(api: httpx.Client, demo_token: str) -> None:
    # Same claims, signed with a key that is not the server's, or not signed at all
    claims = jwt.decode(demo_token, options={"verify_signature": False})
    forged = jwt.encode(claims, "attacker-chosen-secret-0123456789abcdef", algorithm="HS256")
    unsigned = jwt.encode(claims, None, algorithm="none")
    for token in (forged, unsigned):
        response = api.post("/payments/initiate", json=order(), headers=bearer(token))
        assert response.status_code == 401, response.text


def test_another_users_payment_is_not_found(
    stack: LocalStack, api: httpx.Client, demo_token: str, nophone_token: str
) -> None:
    started = initiate(api, demo_token, order())
    code = latest_code(stack)
    response = api.post(
        "/payments/confirm",
        json={"payment_id": started["payment_id"], "code": code},
        headers=bearer(nophone_token),
    )
    assert response.status_code == 404
    assert response.json()["error"] == "Payment not found"
    # and the owner can still confirm it
    response = api.post(
        "/payments/confirm",
        json={"payment_id": started["payment_id"], "code": code},
        headers=bearer(demo_token),
    )
    assert response.status_code == 200


@pytest.mark.parametrize(("attribute", "value"), [("amount", "2500.00"), ("recipient", "Mallory")])
def test_a_payment_changed_in_the_table_before_confirmation_is_refused(
    stack: LocalStack,
    api: httpx.Client,
    demo_token: str,
    dynamodb: Any,
    attribute: str,
    value: str,
) -> None:
    # Given a pending payment whose stored details are changed behind the API's back
    started = initiate(api, demo_token, order())
    dynamodb.update_item(
        TableName="PaymentsTable",
        Key={"payment_id": {"S": started["payment_id"]}},
        UpdateExpression="SET #a = :v",
        ExpressionAttributeNames={"#a": attribute},
        ExpressionAttributeValues={":v": {"S": value}},
    )
    # When the payer confirms with the right code
    response = api.post(
        "/payments/confirm",
        json={"payment_id": started["payment_id"], "code": latest_code(stack)},
        headers=bearer(demo_token),
    )
    # Then nothing is paid, and the payment is over
    assert response.status_code == 409, response.text
    assert response.json()["code"] == "payment_details_changed"
    assert ledger_entries(dynamodb, started["payment_id"]) == []
    again = api.post(
        "/payments/confirm",
        json={"payment_id": started["payment_id"], "code": latest_code(stack)},
        headers=bearer(demo_token),
    )
    assert (again.status_code, again.json()["error"]) == (400, "Payment already failed")


def test_twenty_concurrent_confirmations_process_the_payment_exactly_once(
    stack: LocalStack, api: httpx.Client, demo_token: str, dynamodb: Any
) -> None:
    # Given
    started = initiate(api, demo_token, order())
    code = latest_code(stack)

    def confirm(_: int) -> int:
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            return client.post(
                "/payments/confirm",
                json={"payment_id": started["payment_id"], "code": code},
                headers=bearer(demo_token),
            ).status_code

    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(confirm, range(20)))
    # Then
    assert statuses.count(200) == 1, statuses
    assert set(statuses) <= {200, 400, 409}, statuses
    assert len(ledger_entries(dynamodb, started["payment_id"])) == 1


def test_an_idempotency_key_replay_returns_the_same_payment(
    stack: LocalStack, api: httpx.Client, demo_token: str, dynamodb: Any
) -> None:
    # Given
    body = order()
    headers = {**bearer(demo_token), "Idempotency-Key": f"e2e-{uuid.uuid4()}"}
    # When
    first = api.post("/payments/initiate", json=body, headers=headers)
    second = api.post("/payments/initiate", json=body, headers=headers)
    # Then
    assert first.status_code == second.status_code == 200
    assert first.json()["payment_id"] == second.json()["payment_id"]
    assert len(payments_to(dynamodb, body["recipient"])) == 1
    # and the same key with another amount is refused
    other = api.post("/payments/initiate", json={**body, "amount": "251.00"}, headers=headers)
    assert other.status_code == 422
    assert len(payments_to(dynamodb, body["recipient"])) == 1


def test_a_browser_preflight_needs_no_token(api: httpx.Client) -> None:
    response = api.options(
        "/payments/initiate",
        headers={
            "Origin": "https://app.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "Authorization, Idempotency-Key",
        },
    )
    assert response.status_code == 200
    allowed = response.headers["Access-Control-Allow-Headers"]
    assert "Authorization" in allowed and "Idempotency-Key" in allowed


def test_the_payer_cancels_a_pending_payment_with_its_token(
    stack: LocalStack, api: httpx.Client, demo_token: str, nophone_token: str
) -> None:
    # Given a payment waiting for its code
    payment = initiate(api, demo_token, order())
    body = {"payment_id": payment["payment_id"]}
    # When someone without a token, then another user, then the payer cancel it
    anonymous = api.post("/verify/cancel", json=body)
    stranger = api.post("/verify/cancel", json=body, headers=bearer(nophone_token))
    payer = api.post("/verify/cancel", json=body, headers=bearer(demo_token))
    again = api.post("/verify/cancel", json=body, headers=bearer(demo_token))
    # Then only the payer could, once, and the code no longer confirms it
    assert anonymous.status_code == 401
    assert stranger.status_code == 404
    assert (payer.status_code, payer.json()) == (200, {"cancelled": True})
    assert (again.status_code, again.json()) == (200, {"cancelled": False})
    confirm = api.post(
        "/payments/confirm",
        json={**body, "code": latest_code(stack)},
        headers=bearer(demo_token),
    )
    assert (confirm.status_code, confirm.json()["error"]) == (400, "Payment already cancelled")
