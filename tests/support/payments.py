"""What payment tests over the local stack share: the demo accounts' tokens (and any
account's), the bearer header, and the ledger entries of a payment or of an account."""

from __future__ import annotations

from typing import Any

import httpx

from devtools.local_stack.seeding import DEMO_PASSWORD
from devtools.local_stack.stack import LocalStack

DEMO_PHONE = "+14155550123"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def demo_token(stack: LocalStack) -> str:
    """demo@example.com's token, after its login with the code from the SMS."""
    return token_for(stack, "demo@example.com", DEMO_PASSWORD, DEMO_PHONE)


def token_for(stack: LocalStack, email: str, password: str, phone: str) -> str:
    """The token of an account with a phone, after its login with the code from the SMS."""
    assert stack.emulator is not None
    with httpx.Client(base_url=stack.api_url, timeout=60) as api:
        started = api.post("/login", json={"email": email, "password": password})
        assert started.status_code == 200, started.text
        code = stack.emulator.latest_code(phone)
        verified = api.post(
            "/login/verify", json={"flow_id": started.json()["flow_id"], "code": code}
        )
        assert verified.status_code == 200, verified.text
        token: str = verified.json()["token"]
        return token


def nophone_token(stack: LocalStack) -> str:
    """A second account's token: nophone@example.com has no phone, so /login answers one."""
    with httpx.Client(base_url=stack.api_url, timeout=60) as api:
        response = api.post(
            "/login", json={"email": "nophone@example.com", "password": DEMO_PASSWORD}
        )
        assert response.status_code == 200, response.text
        token: str = response.json()["token"]
        return token


def ledger_entries(dynamodb: Any, payment_id: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = dynamodb.query(
        TableName="LedgerTable",
        KeyConditionExpression="payment_id = :p",
        ExpressionAttributeValues={":p": {"S": payment_id}},
        ConsistentRead=True,
    )["Items"]
    return items


def ledger_entries_of(dynamodb: Any, user_id: str) -> list[dict[str, Any]]:
    """Every payment executed for `user_id` (a scan: for tests on accounts of their own)."""
    items: list[dict[str, Any]] = dynamodb.scan(
        TableName="LedgerTable",
        FilterExpression="user_id = :u",
        ExpressionAttributeValues={":u": {"S": user_id}},
        ConsistentRead=True,
    )["Items"]
    return items


def payments_of(dynamodb: Any, user_id: str) -> list[dict[str, Any]]:
    """Every payment written for `user_id`, whatever its status, without the account's count
    of payments made without a code (`exempt#<user>`; a scan: for accounts of their own)."""
    items: list[dict[str, Any]] = dynamodb.scan(
        TableName="PaymentsTable",
        FilterExpression="user_id = :u AND begins_with(payment_id, :pay)",
        ExpressionAttributeValues={":u": {"S": user_id}, ":pay": {"S": "pay_"}},
        ConsistentRead=True,
    )["Items"]
    return items
