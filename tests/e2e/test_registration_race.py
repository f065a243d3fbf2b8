"""Registration end to end over HTTP: the local stack on AWS's DynamoDB Local, codes from the
Telnyx emulator's outbox. Two registrations racing for one email or one phone make exactly one
account, and the other gets a 409 at verify (start answers 200 to both: it tells nothing).

DynamoDB Local is shared with the other end-to-end tests (which use the demo accounts), so
every address and number here is this module's own.
"""

from __future__ import annotations

import uuid

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from phoneverify.flows.registration import PHONE_HAS_ACCOUNT
from tests.support.stacks import post_at_once, table_items

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


def email_code_for(stack: LocalStack, email: str) -> str:
    assert stack.emulator is not None
    code = stack.emulator.latest_email_code(email)
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


def test_sign_up_then_log_in_with_a_code_to_the_new_phone(
    stack: LocalStack, api: httpx.Client
) -> None:
    # Given a new account, registered with the code from the outbox
    email, phone = fresh_email(), fresh_phone()
    flow_id = start(api, email, phone)
    codes = {"flow_id": flow_id, "code": code_for(stack, phone)}
    registered = api.post(
        "/register/verify", json={**codes, "email_code": email_code_for(stack, email)}
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
        # Given two pending registrations for one email or phone, neither account written yet
        email, phone = fresh_email(), fresh_phone()
        applicants = [
            (email, phone),
            (email, fresh_phone()) if shared == "email" else (fresh_email(), phone),
        ]
        pending = []
        for e, p in applicants:  # each code read as it arrives: both may go to one phone
            flow_id = start(api, e, p)
            pending.append(
                {
                    "flow_id": flow_id,
                    "code": code_for(stack, p),
                    "email_code": email_code_for(stack, e),
                }
            )
        # When both codes arrive at once
        answers = post_at_once(stack.api_url, "/register/verify", pending)
        # Then exactly one account, and the other person is told why
        assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
        (winner,) = [a.json() for a in answers if a.status_code == 201]
        (loser,) = [a.json() for a in answers if a.status_code == 409]
        expected = "Email already registered" if shared == "email" else PHONE_HAS_ACCOUNT
        assert loser["error"] == expected
        items = table_items(stack, "UsersTable")
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
