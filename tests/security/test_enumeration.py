"""Account enumeration through login and sign-up: status, body and timing must not tell an
unknown email from a wrong password, nor a registered email or phone from a fresh one. Sign-up
says a phone is taken only at verify, to whoever proved it; a registered email it never tells
(its owner hears of the attempt instead: tests/security/test_email_channel.py)."""

from __future__ import annotations

import statistics
import time
import uuid
from typing import Any

from tests.security.conftest import DEMO_PHONE, Target, seed_account
from tests.security.conftest import PASSWORD as OWNER_PASSWORD
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
    hints = ("flow_id", "phone_hint", "email_hint")
    body = {k: v for k, v in response.json().items() if k not in hints}
    return response.status_code, body, sent, elapsed


def test_sign_up_with_a_registered_email_or_phone_answers_like_a_fresh_one(
    target: Target,
) -> None:
    # Given warm functions
    sign_up(target, fresh_email(), fresh_phone())

    # When an attacker starts sign-ups with a registered email (each its own: an address
    # takes a few emails an hour, taken or not), the demo account's phone, or both,
    # interleaved with sign-ups for an email and a phone nobody has
    def taken_form(i: int) -> tuple[str, str]:
        email = fresh_email() if i % 3 == 1 else seed_account(target.stack).email
        return email, fresh_phone() if i % 3 == 0 else DEMO_PHONE

    taken, fresh = [], []
    for i in range(9):
        taken.append(sign_up(target, *taken_form(i)))
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


def verify_sign_up(target: Target, email: str, phone: str, email_code: str | None) -> Any:
    """A sign-up with `email` and `phone`, verified with the phone's code and `email_code`
    (None: the one sent to `email`)."""
    form = {"name": "Mallory", "email": email, "phone_number": phone, "password": PASSWORD}
    started = target.api.post("/register/start", json=form)
    assert started.status_code == 200, started.text
    codes = {
        "flow_id": started.json()["flow_id"],
        "code": target.code_for(phone),
        "email_code": email_code or target.email_code_for(email),
    }
    return target.api.post("/register/verify", json=codes)


def test_proving_a_phone_with_someone_s_email_tells_nothing(target: Target) -> None:
    # Given an attacker who holds phones: they sign up with a registered email, and, as the
    # reference, with a fresh email whose code they never got (both guessed)
    owner = seed_account(target.stack)
    guess = "123456"
    probe = verify_sign_up(target, owner.email, fresh_phone(), guess)
    reference = verify_sign_up(target, fresh_email(), fresh_phone(), guess)
    # Then both fail alike, as a wrong code does: no 409 email_taken any more
    assert probe.status_code == reference.status_code == 401, (probe.text, reference.text)
    assert probe.json() == reference.json()
    assert probe.json()["code"] == "invalid_code"
    # and the account is untouched: its own password still opens it
    login = target.api.post("/login", json={"email": owner.email, "password": OWNER_PASSWORD})
    assert login.status_code == 200, login.text


def test_verify_tells_a_taken_phone_only_to_who_proves_it_and_the_email(target: Target) -> None:
    # Given a sign-up with a fresh email and the demo account's phone
    email = fresh_email()
    # When both codes are entered
    response = verify_sign_up(target, email, DEMO_PHONE, None)
    # Then a 409 says the phone is taken: its prover is told to sign in
    assert (response.status_code, response.json()["code"]) == (409, "phone_taken"), response.text
    assert "token" not in response.json()
    # and the attacker's password opens nothing
    attacker = target.api.post("/login", json={"email": email, "password": PASSWORD})
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
        pending.append(
            {
                "flow_id": started.json()["flow_id"],
                "code": target.code_for(phone),
                "email_code": target.email_code_for(form["email"]),
            }
        )
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
