"""Brute force across flows: five wrong codes close one flow, but an attacker who knows the
password (or holds a token) can open flow after flow. The account itself takes at most 100
consecutive wrong codes (NIST 800-63B), whatever the flows, and then no code is checked at all.

Each test seeds an account of its own, so the session's other attack tests are not locked out.
"""

from __future__ import annotations

import httpx

from phoneverify.domain.errors import AccountLocked
from tests.security.conftest import PASSWORD, Account, Target, seed_account, wrong_code

LOCKOUT_SECS = 30 * 86_400  # the default ACCOUNT_LOCKOUT_SECS


def login(target: Target, account: Account) -> tuple[str, str]:
    """Start a login; return its flow id and the code the SMS carried."""
    response = target.api.post("/login", json={"email": account.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return response.json()["flow_id"], target.code_for(account.phone)


def pay(target: Target, token: str, account: Account) -> tuple[str, str]:
    """Start a payment that needs a code; return its id and the code."""
    response = target.api.post(
        "/payments/initiate",
        json={"amount": "250.00", "currency": "USD", "recipient": "Acme"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()["payment_id"], target.code_for(account.phone)


def verify(target: Target, flow_id: str, code: str) -> httpx.Response:
    return target.api.post("/login/verify", json={"flow_id": flow_id, "code": code})


def confirm(target: Target, token: str, payment_id: str, code: str) -> httpx.Response:
    return target.api.post(
        "/payments/confirm",
        json={"payment_id": payment_id, "code": code},
        headers={"Authorization": f"Bearer {token}"},
    )


def token_for(target: Target, account: Account) -> str:
    flow_id, code = login(target, account)
    response = verify(target, flow_id, code)
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def waste_login(target: Target, account: Account, wrongs: int = 5) -> list[int]:
    flow_id, code = login(target, account)
    return [verify(target, flow_id, wrong_code(code)).status_code for _ in range(wrongs)]


def assert_account_locked(response: httpx.Response) -> None:
    assert response.status_code == 429, response.text
    body = response.json()
    assert body["code"] == "account_locked"
    assert body["error"] == AccountLocked.message
    assert LOCKOUT_SECS - 120 <= body["retry_after"] <= LOCKOUT_SECS
    assert response.headers["Retry-After"] == str(body["retry_after"])
    assert "token" not in body


def test_a_hundred_wrong_codes_across_flows_lock_the_account(target: Target) -> None:
    # Given an attacker who has the password and a token of the account
    account = seed_account(target.stack)
    token = token_for(target, account)
    # and a login left pending, whose right code it will learn too late
    spare_flow, spare_code = login(target, account)
    # When it spends 99 wrong codes over 20 flows, payments and logins alike
    for _ in range(10):
        payment_id, code = pay(target, token, account)
        statuses = [
            confirm(target, token, payment_id, wrong_code(code)).status_code for _ in range(5)
        ]
        assert statuses == [401, 401, 401, 401, 429]
    for _ in range(9):
        assert waste_login(target, account) == [401, 401, 401, 401, 429]
    last_flow, last_code = login(target, account)
    assert [verify(target, last_flow, wrong_code(last_code)).status_code for _ in range(4)] == [
        401
    ] * 4
    # Then the hundredth wrong code locks the account
    assert_account_locked(verify(target, last_flow, wrong_code(last_code)))
    # and nothing gets through any more, the right code of an open flow included
    assert_account_locked(verify(target, spare_flow, spare_code))
    # New flows are refused before any SMS is spent on them
    sent = len(target.emulator.messages(account.phone, include_undelivered=True))
    response = target.api.post("/login", json={"email": account.email, "password": PASSWORD})
    assert_account_locked(response)
    assert len(target.emulator.messages(account.phone, include_undelivered=True)) == sent
    # and the attacker's token died with the lock
    payment = target.api.post(
        "/payments/initiate",
        json={"amount": "250.00", "currency": "USD", "recipient": "Acme"},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert payment.status_code == 401, payment.text


def test_an_accepted_code_before_the_cap_starts_the_count_over(target: Target) -> None:
    # Given 99 wrong codes in a row on one account
    account = seed_account(target.stack)
    for _ in range(19):
        assert waste_login(target, account) == [401, 401, 401, 401, 429]
    flow_id, code = login(target, account)
    assert [verify(target, flow_id, wrong_code(code)).status_code for _ in range(4)] == [401] * 4
    # When the owner then enters the right code
    assert verify(target, flow_id, code).status_code == 200
    # Then the count starts over: the wrong codes that follow only close their own flows
    for _ in range(2):
        assert waste_login(target, account) == [401, 401, 401, 401, 429]
    flow_id, code = login(target, account)
    assert verify(target, flow_id, code).status_code == 200
