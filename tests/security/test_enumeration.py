"""Account enumeration through login: status, body and timing must not tell an unknown email
from a wrong password."""

from __future__ import annotations

import statistics
import time

from tests.security.conftest import DEMO_EMAIL, Target


def attempt(target: Target, email: str, password: str) -> tuple[int, str, float]:
    started = time.perf_counter()
    response = target.api.post("/login", json={"email": email, "password": password})
    return response.status_code, response.text, time.perf_counter() - started


def test_unknown_email_and_wrong_password_answer_alike(target: Target) -> None:
    # Given warm functions (cold starts would drown the signal)
    attempt(target, DEMO_EMAIL, "warm-up-password")
    # When an attacker probes a known and an unknown address, interleaved
    known, unknown = [], []
    for i in range(8):
        known.append(attempt(target, DEMO_EMAIL, f"wrong-password-{i}"))
        unknown.append(attempt(target, f"nobody-{i}@example.com", f"wrong-password-{i}"))
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
