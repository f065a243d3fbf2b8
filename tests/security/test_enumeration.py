"""Account enumeration through login and sign-up: status, body and timing must not tell an
unknown email from a wrong password, nor a registered email or phone from a fresh one. Sign-up
says what is taken only at verify, to whoever proved the phone."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

import pytest

from devtools.local_stack.seeding import DEMO_PASSWORD
from tests.security.conftest import DEMO_EMAIL, DEMO_PHONE, Target, seed_account
from tests.support.stacks import post_at_once, table_items

PASSWORD = "analytical engine notes"
_numbers = iter(range(100, 200))  # +1 303 555 01xx, reserved for fiction; no other test uses them


def fresh_phone() -> str:
    return f"+1303555{next(_numbers):04d}"


def fresh_email() -> str:
    return f"probe-{uuid.uuid4().hex[:12]}@example.com"


def attempt(target: Target, email: str, password: str) -> tuple[int, str, float]:
    started = time.perf_counter()
    response = target.api.post("/login", json={"email": email, "password": password})
    return response.status_code, response.text, time.perf_counter() - started


def test_unknown_email_and_wrong_password_answer_alike(target: Target) -> None:
    # Given warm functions (cold starts would drown the signal)
    attempt(target, f"warm-up-{uuid.uuid4().hex[:8]}@example.com", "warm-up-password")
    # When an attacker probes known and unknown addresses, interleaved, once each
    known, unknown = [], []
    for i in range(8):
        account = seed_account(target.stack, bcrypt_cost=12)  # as real accounts
        known.append(attempt(target, account.email, f"wrong-password-{i}"))
        unknown.append(attempt(target, f"nobody-{uuid.uuid4().hex}@example.com", "wrong"))
    # Then status and body are identical
    assert {(s, b) for s, b, _ in known} == {(s, b) for s, b, _ in unknown}
    assert known[0][0] == 401
    # and the time differs by far less than one bcrypt check
    known_median = statistics.median(t for _, _, t in known)
    unknown_median = statistics.median(t for _, _, t in unknown)
    assert abs(known_median - unknown_median) < 0.35 * max(known_median, unknown_median), (
        known_median,
        unknown_median,
    )


def test_the_password_throttle_treats_unknown_emails_like_known_ones(target: Target) -> None:
    # Given a known and an unknown address
    known = seed_account(target.stack).email
    unknown = f"nobody-{uuid.uuid4().hex}@example.com"
    # When an attacker guesses seven times at each
    answers = {
        email: [attempt(target, email, f"guess-{i}")[:2] for i in range(7)]
        for email in (known, unknown)
    }
    # Then the two runs are the same, status for status (the wait is seconds, so equal bodies
    # up to the retry_after they count down)
    assert (
        [s for s, _ in answers[known]] == [s for s, _ in answers[unknown]] == [401] * 5 + [429] * 2
    )


# -- sign-up ----------------------------------------------------------------------------------
def sign_up(target: Target, email: str, phone: str) -> tuple[int, dict[str, Any], bool, float]:
    """POST /register/start: (status, body without the per-flow values, code sent?, seconds)."""
    sent_before = len(target.emulator.messages(phone, include_undelivered=True))
    form = {"name": "Mallory", "email": email, "phone_number": phone, "password": PASSWORD}
    started = time.perf_counter()
    response = target.api.post("/register/start", json=form)
    elapsed = time.perf_counter() - started
    sent = len(target.emulator.messages(phone, include_undelivered=True)) > sent_before
    body = {k: v for k, v in response.json().items() if k not in ("flow_id", "phone_hint")}
    return response.status_code, body, sent, elapsed


def test_sign_up_with_a_registered_email_or_phone_answers_like_a_fresh_one(
    target: Target,
) -> None:
    # Given warm functions
    sign_up(target, fresh_email(), fresh_phone())
    # When an attacker starts sign-ups with the demo account's email, its phone, or both,
    # interleaved with sign-ups for an email and a phone nobody has
    taken_forms = [
        (DEMO_EMAIL, fresh_phone()),
        (fresh_email(), DEMO_PHONE),
        (DEMO_EMAIL, DEMO_PHONE),
    ]
    taken, fresh = [], []
    for i in range(9):
        taken.append(sign_up(target, *taken_forms[i % 3]))
        fresh.append(sign_up(target, fresh_email(), fresh_phone()))
    # Then every answer is the same 200 with the same fields, and every one sent a code
    answers = {(status, repr(sorted(body.items())), sent) for status, body, sent, _ in taken}
    assert answers == {(s, repr(sorted(b.items())), sent) for s, b, sent, _ in fresh}
    ((status, _, sent),) = answers
    assert (status, sent) == (200, True)
    # and the time differs by far less than the lookups and the hash a 409 used to skip
    taken_median = statistics.median(t for *_, t in taken)
    fresh_median = statistics.median(t for *_, t in fresh)
    assert abs(taken_median - fresh_median) < 0.35 * max(taken_median, fresh_median), (
        taken_median,
        fresh_median,
    )


@pytest.mark.parametrize(
    ("email", "phone", "code"),
    [
        (DEMO_EMAIL, None, "email_taken"),
        (None, DEMO_PHONE, "phone_taken"),
        (DEMO_EMAIL, DEMO_PHONE, "phone_taken"),
    ],
    ids=["email", "phone", "both"],
)
def test_verify_tells_what_is_taken_only_to_who_proves_the_phone(
    target: Target, email: str | None, phone: str | None, code: str
) -> None:
    # Given a sign-up naming the demo account's email, its phone or both
    phone = phone or fresh_phone()
    form = {
        "name": "Mallory",
        "email": email or fresh_email(),
        "phone_number": phone,
        "password": PASSWORD,
    }
    started = target.api.post("/register/start", json=form)
    assert started.status_code == 200, started.text
    # When the code sent to that phone is entered
    response = target.api.post(
        "/register/verify",
        json={"flow_id": started.json()["flow_id"], "code": target.code_for(phone)},
    )
    # Then a 409 says what is taken, the phone first (its prover is told to sign in)
    assert (response.status_code, response.json()["code"]) == (409, code), response.text
    assert "token" not in response.json()
    # and the demo account is untouched: its own password still opens it
    login = target.api.post("/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["phone_hint"] == "+1******0123"
    # and the attacker's password opens nothing
    attacker = target.api.post("/login", json={"email": form["email"], "password": PASSWORD})
    assert attacker.status_code in (401, 429), attacker.text


def test_two_sign_ups_racing_for_one_phone_make_one_account(target: Target) -> None:
    # Given two sign-ups for one phone with different emails, both answered 200
    phone = fresh_phone()
    pending = []
    for _ in range(2):  # each code read as it arrives: both go to the one phone
        form = {
            "name": "Racer",
            "email": fresh_email(),
            "phone_number": phone,
            "password": PASSWORD,
        }
        started = target.api.post("/register/start", json=form)
        assert started.status_code == 200, started.text
        pending.append({"flow_id": started.json()["flow_id"], "code": target.code_for(phone)})
    # When both codes are entered at the same moment
    answers = post_at_once(target.stack.api_url, "/register/verify", pending)
    # Then exactly one account holds the phone, and the other is told the phone is taken
    assert sorted(a.status_code for a in answers) == [201, 409], [a.text for a in answers]
    (winner,) = [a.json()["user_id"] for a in answers if a.status_code == 201]
    (loser,) = [a.json() for a in answers if a.status_code == 409]
    assert loser["code"] == "phone_taken"
    items = table_items(target.stack, "UsersTable")
    holders = [i["user_id"]["S"] for i in items if i.get("phone_number", {}).get("S") == phone]
    assert holders == [winner]
    assert {i["pk"]["S"]: i["user_id"]["S"] for i in items}[f"PHONE#{phone}"] == winner
