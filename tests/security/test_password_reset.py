"""Self-service recovery attacked through the whole local stack: the reset must get a locked
owner back in and end every old token, must not tell who has an account, and must not be a
way around the code."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

import httpx

from tests.security.conftest import PASSWORD, Account, Target, seed_account, wrong_code
from tests.support.payments import bearer
from tests.support.stacks import dynamodb_of

NEW_PASSWORD = "a fresh passphrase after the scare"


def lock(target: Target, account: Account) -> None:
    """The state 100 wrong codes leave behind (tests/security/test_account_lockout.py makes
    it the long way): the account's failure counter at its cap for 30 days."""
    client = dynamodb_of(target.stack.aws_env)
    client.put_item(
        TableName="RateLimitsTable",
        Item={
            "pk": {"S": f"fail#{account.user_id}"},
            "failures": {"N": "100"},
            "ttl": {"N": str(int(time.time()) + 30 * 86_400)},
        },
    )


def sign_in(target: Target, account: Account, password: str = PASSWORD) -> httpx.Response:
    return target.api.post("/login", json={"email": account.email, "password": password})


def token_of(target: Target, account: Account) -> str:
    started = sign_in(target, account)
    assert started.status_code == 200, started.text
    verified = target.api.post(
        "/login/verify",
        json={"flow_id": started.json()["flow_id"], "code": target.code_for(account.phone)},
    )
    assert verified.status_code == 200, verified.text
    token: str = verified.json()["token"]
    return token


def start_reset(target: Target, email: str) -> tuple[httpx.Response, float]:
    started = time.perf_counter()
    response = target.api.post("/password/reset/start", json={"email": email})
    return response, time.perf_counter() - started


def outbox_size(target: Target) -> int:
    return len(target.emulator.messages(None, include_undelivered=True))


def test_a_locked_owner_resets_the_password_and_every_old_token_ends(target: Target) -> None:
    # Given an account whose token an attacker holds, then locked by wrong codes
    account = seed_account(target.stack)
    stolen = token_of(target, account)
    lock(target, account)
    locked = sign_in(target, account)
    # When the owner resets the password with a code sent to the phone
    started, _ = start_reset(target, account.email)
    assert started.status_code == 200, started.text
    done = target.api.post(
        "/password/reset/verify",
        json={
            "flow_id": started.json()["flow_id"],
            "code": target.code_for(account.phone),
            "new_password": NEW_PASSWORD,
        },
    )
    # Then the lock said where to go, and the owner is back in with the new password only
    assert locked.status_code == 429 and locked.json()["code"] == "account_locked"
    assert "Reset your password" in locked.json()["error"]
    assert done.status_code == 200, done.text
    assert done.json() == {"password_reset": True}
    assert sign_in(target, account).status_code == 401
    again = sign_in(target, account, NEW_PASSWORD)
    assert again.status_code == 200 and again.json()["requires_2fa"] is True
    # and the token issued before the reset is dead
    paid = target.api.post(
        "/payments/initiate",
        json={"amount": "5.00", "currency": "USD", "recipient": "attacker"},
        headers=bearer(stolen),
    )
    assert paid.status_code == 401, paid.text


def test_unknown_and_phoneless_emails_get_the_same_answer_and_nothing_is_sent(
    target: Target,
) -> None:
    # Given warm functions, an account with a phone and one without
    start_reset(target, f"warm-{uuid.uuid4().hex[:8]}@example.com")
    real: list[tuple[dict[str, Any], float]] = []
    fake: list[tuple[dict[str, Any], float]] = []
    for _ in range(6):
        with_phone = seed_account(target.stack)
        without = seed_account(target.stack, with_phone=False)
        # When an attacker asks for resets of each, and of an unknown address
        response, took = start_reset(target, with_phone.email)
        real.append((response.json(), took))
        for email in (without.email, f"nobody-{uuid.uuid4().hex[:10]}@example.com"):
            before = outbox_size(target)
            response, took = start_reset(target, email)
            assert response.status_code == 200, response.text
            fake.append((response.json(), took))
            assert outbox_size(target) == before  # nothing was sent
    # Then the answers have the same fields and values but the flow id and the hint
    shape = {k: type(v) for k, v in real[0][0].items()}
    for body, _ in real + fake:
        assert {k: type(v) for k, v in body.items()} == shape
        assert body["timeout_secs"] == real[0][0]["timeout_secs"]
        assert body["phone_hint"].startswith("******") and len(body["phone_hint"]) == 10
        assert len(body["flow_id"]) == len(real[0][0]["flow_id"])
    # and take about as long
    real_median = statistics.median(t for _, t in real)
    fake_median = statistics.median(t for _, t in fake)
    assert abs(real_median - fake_median) < max(0.25, 0.5 * real_median), (real_median, fake_median)


def test_guessing_the_code_of_a_decoy_never_succeeds(target: Target) -> None:
    # Given a reset of an unknown email
    started, _ = start_reset(target, f"nobody-{uuid.uuid4().hex[:10]}@example.com")
    flow_id = started.json()["flow_id"]
    # When an attacker tries codes until the flow closes
    statuses = [
        target.api.post(
            "/password/reset/verify",
            json={"flow_id": flow_id, "code": f"{i:06d}", "new_password": NEW_PASSWORD},
        ).status_code
        for i in range(6)
    ]
    # Then it answers as any flow with wrong codes does
    assert statuses == [401, 401, 401, 401, 429, 429]


def test_a_reset_code_opens_no_session_and_a_wrong_one_changes_nothing(target: Target) -> None:
    # Given a reset started by someone who controls the account's phone for a moment
    account = seed_account(target.stack)
    started, _ = start_reset(target, account.email)
    flow_id = started.json()["flow_id"]
    code = target.code_for(account.phone)
    # When its code is tried at /login/verify, and a wrong code at /password/reset/verify
    as_login = target.api.post("/login/verify", json={"flow_id": flow_id, "code": code})
    wrong = target.api.post(
        "/password/reset/verify",
        json={"flow_id": flow_id, "code": wrong_code(code), "new_password": NEW_PASSWORD},
    )
    # Then neither signs in nor changes the password
    assert as_login.status_code == 400
    assert "token" not in as_login.text
    assert wrong.status_code == 401
    assert wrong.json()["attempts_remaining"] == 4
    assert sign_in(target, account).status_code == 200


def test_bad_input_gets_a_400_naming_the_field(target: Target) -> None:
    account = seed_account(target.stack)
    started, _ = start_reset(target, account.email)
    flow_id = started.json()["flow_id"]
    code = target.code_for(account.phone)
    cases = [
        ("/password/reset/start", {}, "email"),
        ("/password/reset/start", {"email": "not-an-email"}, "email"),
        ("/password/reset/start", {"email": account.email, "admin": True}, "admin"),
        ("/password/reset/verify", {"flow_id": flow_id, "code": code}, "new_password"),
        (
            "/password/reset/verify",
            {"flow_id": flow_id, "code": code, "new_password": "password"},
            "new_password",
        ),
        (
            "/password/reset/verify",
            {"flow_id": flow_id, "code": code, "new_password": account.email},
            "new_password",
        ),
        ("/password/reset/verify", {"flow_id": "x", "code": code, "new_password": "p"}, "flow_id"),
        ("/password/reset/resend", {"flow_id": 12}, "flow_id"),
    ]
    for path, body, field in cases:
        response = target.api.post(path, json=body)
        assert response.status_code == 400, (path, body, response.text)
        assert response.json()["field"] == field, (path, body, response.text)
    # and the code was not spent by any of them
    done = target.api.post(
        "/password/reset/verify",
        json={"flow_id": flow_id, "code": code, "new_password": NEW_PASSWORD},
    )
    assert done.status_code == 200, done.text
