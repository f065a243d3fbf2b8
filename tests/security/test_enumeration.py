"""Account enumeration through login: status, body and timing must not tell an unknown email
from a wrong password, and the password throttle must not either."""

from __future__ import annotations

import statistics
import time
import uuid

from tests.security.conftest import Target, seed_account


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
