"""A new person's whole journey through the local stack: sign up with a phone, log in with a
second factor, pay 250.00 USD with a code and 50.00 USD without one."""

from __future__ import annotations

import uuid

import httpx

from devtools.local_stack.stack import LocalStack


def code_sent_to(stack: LocalStack, phone: str) -> str:
    assert stack.emulator is not None
    code = stack.emulator.latest_code(phone)
    assert code is not None, f"no SMS to {phone}"
    return str(code)


def test_sign_up_log_in_and_pay(stack: LocalStack, api: httpx.Client) -> None:
    # Given a person new to the service
    email = f"grace-{uuid.uuid4().hex[:8]}@example.com"
    phone = "+14155550101"  # 555-01XX is for fiction; the registration race uses 0140 and up
    password = "a long and memorable passphrase"

    # When they sign up, proving the phone and the email with the codes they received
    started = api.post(
        "/register/start",
        json={"name": "Grace", "email": email, "phone_number": phone, "password": password},
    )
    assert started.status_code == 200, started.text
    assert started.json()["timeout_secs"] == 600
    assert stack.emulator is not None
    codes = {
        "flow_id": started.json()["flow_id"],
        "code": code_sent_to(stack, phone),
        "email_code": stack.emulator.latest_email_code(email),
    }
    created = api.post("/register/verify", json=codes)
    assert created.status_code == 201, created.text
    user_id = created.json()["user_id"]

    # and log in with their password and a second code
    login = api.post("/login", json={"email": email, "password": password})
    assert login.status_code == 200 and login.json()["requires_2fa"] is True
    assert login.json()["phone_hint"].endswith(phone[-4:])
    verified = api.post(
        "/login/verify",
        json={"flow_id": login.json()["flow_id"], "code": code_sent_to(stack, phone)},
    )
    assert verified.status_code == 200, verified.text
    bearer = {"Authorization": f"Bearer {verified.json()['token']}"}

    # Then a 250.00 USD payment needs a code, and completes with it
    big = api.post(
        "/payments/initiate",
        json={"amount": "250.00", "currency": "USD", "recipient": "acct-7", "description": "x"},
        headers=bearer,
    )
    assert big.status_code == 200, big.text
    assert big.json()["requires_verification"] is True
    sms = stack.emulator.messages(phone_number=phone)[0]  # type: ignore[union-attr]
    assert "250" not in sms["text"] and "acct-7" not in sms["text"]  # the SMS carries the code only
    confirmed = api.post(
        "/payments/confirm",
        json={"payment_id": big.json()["payment_id"], "code": code_sent_to(stack, phone)},
        headers=bearer,
    )
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "completed" and confirmed.json()["transaction_id"]

    # and a 50.00 USD payment completes at once, without a code
    sent_before = len(stack.emulator.messages(phone_number=phone))  # type: ignore[union-attr]
    small = api.post(
        "/payments/initiate",
        json={"amount": "50.00", "currency": "USD", "recipient": "acct-7", "description": "y"},
        headers=bearer,
    )
    assert small.status_code == 200, small.text
    assert small.json()["status"] == "completed" and small.json()["transaction_id"]
    assert len(stack.emulator.messages(phone_number=phone)) == sent_before  # type: ignore[union-attr]
    assert user_id
