"""The decoy password reset attacked as the second review did, through the whole local stack
(docs/abuse-controls.md#the-decoy-password-reset): a phone's cap filled by sign-ups, the hint,
the holder's name as the new password; and the reset's own truths: wrong codes in the
account's lock, one reset ending the others, twenty racing resets answering what happened.

The timing half (start and wrong-code check, real against decoy) is measured, not asserted:
benchmarks/test_decoy_reset.py (make bench). Here the equal work behind it is shown by what
each request reached (tests/unit/test_decoy_reset.py counts it call by call)."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from itertools import count

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.security.conftest import (
    PASSWORD,
    LimitedTarget,
    Target,
    limited,
    new_source,
    seed_account,
    wrong_code,
)
from tests.support.accounts import Account, fresh_phone
from tests.support.stacks import dynamodb_of

NEW_PASSWORD = "a fresh passphrase after the scare"
HINT = re.compile(r"^\*{6}\d{4}$")
HOLDER = "Marguerite Holderness"
_uk_numbers = count(100)  # +44 7400 123xxx: GB mobiles, used only here


def unknown_email() -> str:
    return f"nobody-{uuid.uuid4().hex[:10]}@example.com"


def named_account(stack: LocalStack, phone: str | None = None) -> Account:
    """An account whose holder's name is long enough to pass every other password rule."""
    suffix = uuid.uuid4().hex[:10]
    account = Account(f"named-{suffix}", f"named-{suffix}@example.com", phone or fresh_phone())
    user = User(
        account.user_id, account.email, PasswordHasher(cost=4).hash(PASSWORD), account.phone, HOLDER
    )
    DynamoUserRepository(dynamodb_of(stack.aws_env), "UsersTable").put_user(
        user, phone_verified_at=0
    )
    return account


def start(api: httpx.Client, email: str) -> httpx.Response:
    return api.post("/password/reset/start", json={"email": email})


def finish(api: httpx.Client, flow_id: str, code: str, password: str) -> httpx.Response:
    return api.post(
        "/password/reset/verify",
        json={"flow_id": flow_id, "code": code, "new_password": password},
    )


@pytest.fixture(scope="module")
def small(security_stack: LocalStack) -> Iterator[LimitedTarget]:
    """Three codes per phone an hour; plenty per source and account; the gate and the fraud
    guard out of the way (their own tests: test_proof_of_work.py, test_fraud_guard_campaign.py)."""
    caps = {
        "MAX_SENDS_PER_PHONE": "3",
        "MAX_SENDS_PER_IP": "100",
        "MAX_SENDS_PER_ACCOUNT": "40",
        "CHALLENGE_MODE": "off",
        "PREFIX_MIN_CODES": "10000",
        "BCRYPT_COST": "10",
    }
    with limited(security_stack, caps) as target:
        yield target


@pytest.fixture(scope="module")
def roomy(security_stack: LocalStack) -> Iterator[LimitedTarget]:
    """Room for twenty resets of one account an hour."""
    caps = {
        "MAX_SENDS_PER_PHONE": "40",
        "MAX_SENDS_PER_IP": "100",
        "MAX_SENDS_PER_ACCOUNT": "40",
        "CHALLENGE_MODE": "off",
        "BCRYPT_COST": "10",
    }
    with limited(security_stack, caps) as target:
        yield target


def test_sign_ups_filling_a_phones_cap_leave_its_reset_answering_as_an_unknown_email(
    target: Target, small: LimitedTarget
) -> None:
    # Given an account whose phone P an attacker knows
    account = seed_account(target.stack)
    # When sign-ups to P fill P's hourly cap
    signups = []
    for _ in range(4):
        with small.client(new_source()) as api:
            signups.append(
                api.post(
                    "/register/start",
                    json={
                        "name": "Sly Prober",
                        "email": f"{uuid.uuid4().hex[:12]}@example.com",
                        "phone_number": account.phone,
                        "password": "probing for accounts here",
                    },
                ).status_code
            )
    # and the attacker asks for the reset of the account, and of an unknown email
    with small.client(new_source()) as api:
        real = start(api, account.email)
        decoy = start(api, unknown_email())
    # Then the cap was full, yet both resets answer 200 with the same fields and hint shape
    assert signups == [200, 200, 200, 429]
    assert real.status_code == decoy.status_code == 200, (real.text, decoy.text)
    assert real.json().keys() == decoy.json().keys()
    assert HINT.match(real.json()["phone_hint"]) and HINT.match(decoy.json()["phone_hint"])
    assert real.json()["phone_hint"] == "******" + account.phone[-4:]


def test_the_hint_has_one_shape_for_a_uk_account_and_an_unknown_email(target: Target) -> None:
    # Given an account with a UK number
    uk_phone = f"+447400123{next(_uk_numbers):03d}"
    account = named_account(target.stack, uk_phone)
    email = unknown_email()
    # When resets are asked for it and (twice) for an unknown email
    uk = start(target.api, account.email).json()["phone_hint"]
    decoys = [start(target.api, email).json()["phone_hint"] for _ in range(2)]
    # Then no hint shows a country code, and the decoy's digits stay the same
    assert uk == "******" + uk_phone[-4:]
    assert HINT.match(decoys[0]) and decoys[0] == decoys[1]


def test_the_holders_name_as_new_password_with_a_wrong_code_answers_as_a_decoy(
    target: Target,
) -> None:
    # Given a reset of an account whose holder's name the attacker guesses, and a decoy
    account = named_account(target.stack)
    real = start(target.api, account.email).json()["flow_id"]
    decoy = start(target.api, unknown_email()).json()["flow_id"]
    code = target.code_for(account.phone)
    # When each gets a wrong code with that name as the new password
    answers = [finish(target.api, flow, wrong_code(code), HOLDER) for flow in (real, decoy)]
    # Then both are a wrong code (the name rule runs only after a right one)
    assert [a.status_code for a in answers] == [401, 401], [a.text for a in answers]
    assert answers[0].json() == answers[1].json()


def test_a_name_refused_after_the_right_code_leaves_the_flow_for_another_password(
    target: Target,
) -> None:
    account = named_account(target.stack)
    flow_id = start(target.api, account.email).json()["flow_id"]
    code = target.code_for(account.phone)
    # When the right code comes with the holder's name, then with another password
    named = finish(target.api, flow_id, code, HOLDER.lower())
    done = finish(target.api, flow_id, code, NEW_PASSWORD)
    # Then the name was refused naming the field, and the same code set the other password
    assert named.status_code == 400 and named.json()["field"] == "new_password", named.text
    assert done.status_code == 200 and done.json() == {"password_reset": True}, done.text
    signed_in = target.api.post("/login", json={"email": account.email, "password": NEW_PASSWORD})
    assert signed_in.status_code == 200, signed_in.text


def test_wrong_reset_codes_count_towards_the_lock_and_the_right_code_still_resets(
    target: Target,
) -> None:
    # Given an account one wrong code short of its lock
    account = seed_account(target.stack)
    dynamodb_of(target.stack.aws_env).put_item(
        TableName="RateLimitsTable",
        Item={
            "pk": {"S": f"fail#{account.user_id}"},
            "failures": {"N": "99"},
            "ttl": {"N": str(int(time.time()) + 3_600)},
        },
    )
    flow_id = start(target.api, account.email).json()["flow_id"]
    code = target.code_for(account.phone)
    # When a wrong reset code comes
    wrong = finish(target.api, flow_id, wrong_code(code), NEW_PASSWORD)
    login = target.api.post("/login", json={"email": account.email, "password": PASSWORD})
    # Then it answered as a wrong code, and it locked the account
    assert wrong.status_code == 401, wrong.text
    assert login.status_code == 429 and login.json()["code"] == "account_locked", login.text
    # and the right code still resets the password and clears the lock
    done = finish(target.api, flow_id, code, NEW_PASSWORD)
    assert done.status_code == 200, done.text
    again = target.api.post("/login", json={"email": account.email, "password": NEW_PASSWORD})
    assert again.status_code == 200 and again.json()["requires_2fa"] is True, again.text


def test_one_reset_ends_every_other_pending_reset_of_the_account(target: Target) -> None:
    # Given two pending resets of one account, each with its code
    account = seed_account(target.stack)
    first = start(target.api, account.email).json()["flow_id"]
    first_code = target.code_for(account.phone)
    second = start(target.api, account.email).json()["flow_id"]
    second_code = target.code_for(account.phone)
    # When the owner completes the second, and someone then the first (its code is right)
    done = finish(target.api, second, second_code, NEW_PASSWORD)
    late = finish(target.api, first, first_code, "the attacker's own passphrase")
    # Then the first changed nothing: its flow is over
    assert done.status_code == 200, done.text
    assert late.status_code == 400 and late.json()["code"] == "no_pending_verification", late.text
    owner = target.api.post("/login", json={"email": account.email, "password": NEW_PASSWORD})
    assert owner.status_code == 200, owner.text


def test_twenty_racing_resets_answer_truthfully(target: Target, roomy: LimitedTarget) -> None:
    # Given twenty pending resets of one account, each with its right code
    account = seed_account(target.stack)
    flows: list[tuple[str, str]] = []
    with roomy.client(new_source()) as api:
        for _ in range(20):
            started = start(api, account.email)
            assert started.status_code == 200, started.text
            flows.append((started.json()["flow_id"], target.code_for(account.phone)))

    # When all twenty set a password of their own at once
    def reset(i: int) -> tuple[int, str]:
        flow_id, code = flows[i]
        with roomy.client(new_source()) as api:
            response = finish(api, flow_id, code, f"racing passphrase number {i:02d}")
        return response.status_code, f"racing passphrase number {i:02d}"

    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(reset, range(20)))
    # Then exactly one answers password_reset, the others a 400, and the one's password holds
    winners = [password for status, password in outcomes if status == 200]
    assert len(winners) == 1, outcomes
    assert sorted(status for status, _ in outcomes) == [200] + [400] * 19
    holds = target.api.post("/login", json={"email": account.email, "password": winners[0]})
    assert holds.status_code == 200, holds.text
