"""Registration end to end over HTTP: the local stack on AWS's DynamoDB Local, codes from the
Telnyx emulator's outbox. Two registrations racing for one email or one phone make exactly one
account, and the other gets a 409.

DynamoDB Local is shared with the other end-to-end tests (which use the demo accounts), so
every address and number here is this module's own.
"""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx
import pytest

from devtools.local_stack import LocalStack

PASSWORD = "analytical engine notes"


_numbers = iter(range(140, 200))


def fresh_phone() -> str:
    """A US number in the 555-01XX range for fiction, used by no other test."""
    return f"+1415555{next(_numbers):04d}"


def fresh_email() -> str:
    return f"racer-{uuid.uuid4().hex[:12]}@example.com"


def code_for(stack: LocalStack, phone: str) -> str:
    assert stack.emulator is not None
    code = stack.emulator.latest_code(phone)
    assert code is not None
    return code


def start(api: httpx.Client, email: str, phone: str) -> str:
    response = api.post(
        "/register/start",
        json={"name": "Racer", "email": email, "phone_number": phone, "password": PASSWORD},
    )
    assert response.status_code == 200, response.text
    flow_id: str = response.json()["flow_id"]
    return flow_id


def users_items(stack: LocalStack) -> list[dict[str, Any]]:
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_env["AWS_ENDPOINT_URL_DYNAMODB"])
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName="UsersTable"):
        items.extend(page["Items"])
    return items


def verify_at_once(stack: LocalStack, pending: list[tuple[str, str]]) -> list[httpx.Response]:
    """POST /register/verify for each (flow_id, code), all released together."""
    barrier = threading.Barrier(len(pending))

    def verify(flow_id: str, code: str) -> httpx.Response:
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            barrier.wait()
            return client.post("/register/verify", json={"flow_id": flow_id, "code": code})

    with ThreadPoolExecutor(max_workers=len(pending)) as pool:
        return list(pool.map(lambda each: verify(*each), pending))


def test_sign_up_then_log_in_with_a_code_to_the_new_phone(
    stack: LocalStack, api: httpx.Client
) -> None:
    # Given a new account, registered with the code from the outbox
    email, phone = fresh_email(), fresh_phone()
    flow_id = start(api, email, phone)
    registered = api.post(
        "/register/verify", json={"flow_id": flow_id, "code": code_for(stack, phone)}
    )
    assert registered.status_code == 201, registered.text
    # When it logs in
    login = api.post("/login", json={"email": email, "password": PASSWORD})
    # Then the second factor goes to its phone
    assert login.status_code == 200, login.text
    assert login.json()["requires_2fa"] is True
    verified = api.post(
        "/login/verify", json={"flow_id": login.json()["flow_id"], "code": code_for(stack, phone)}
    )
    assert verified.status_code == 200, verified.text


@pytest.mark.parametrize("shared", ["email", "phone"])
def test_two_registrations_racing_for_one_email_or_phone_make_one_account(
    stack: LocalStack, api: httpx.Client, shared: str
) -> None:
    for _ in range(3):
        # Given two registrations that both passed the start check
        email, phone = fresh_email(), fresh_phone()
        applicants = [
            (email, phone),
            (email, fresh_phone()) if shared == "email" else (fresh_email(), phone),
        ]
        pending = []
        for e, p in applicants:  # each code read as it arrives: both may go to one phone
            flow_id = start(api, e, p)
            pending.append((flow_id, code_for(stack, p)))
        # When both codes arrive at once
        answers = verify_at_once(stack, pending)
        # Then exactly one account, and the other person is told why
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        (winner,) = [a.json() for a in answers if a.status_code == 201]
        (loser,) = [a.json() for a in answers if a.status_code == 409]
        expected = (
            "Email already registered" if shared == "email" else "Phone number already registered"
        )
        assert loser["error"] == expected
        items = users_items(stack)
        accounts = [
            i
            for i in items
            if i["pk"]["S"].startswith("USER#")
            and (i["email"]["S"] == email or i.get("phone_number", {}).get("S") == phone)
        ]
        assert [a["user_id"]["S"] for a in accounts] == [winner["user_id"]]
        pointers = {i["pk"]["S"]: i["user_id"]["S"] for i in items if "#" in i["pk"]["S"]}
        shared_key = f"EMAIL#{email}" if shared == "email" else f"PHONE#{phone}"
        assert pointers[shared_key] == winner["user_id"]
        for e, p in applicants:  # the loser's own email or phone was not claimed either
            assert pointers.get(f"EMAIL#{e}") in (winner["user_id"], None)
            assert pointers.get(f"PHONE#{p}") in (winner["user_id"], None)
