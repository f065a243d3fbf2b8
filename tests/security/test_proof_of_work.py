"""The proof-of-work gate in "always" mode, through the whole local stack: a sign-up or a
password reset without a solved challenge is refused naming `altcha`, a solved one is accepted
once, and a challenge forged with another key or a solution to another challenge is refused.
What counts is what the Telnyx emulator actually sent.

The functions run behind a gateway of their own with CHALLENGE_MODE=always (and a
RateLimitsTable of their own, where solutions are spent), over the session stack's DynamoDB
Local, SSM (the HMAC key) and Telnyx emulator.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from tests.security.conftest import DEMO_EMAIL, LimitedTarget, limited, new_source
from tests.support.proofs import payload_of, solve

_numbers = iter(range(300, 400))  # +1 206 555 03xx: no other test uses them


def new_number() -> str:
    return f"+1206555{next(_numbers):04d}"


@pytest.fixture(scope="module")
def gated(security_stack: LocalStack) -> Iterator[LimitedTarget]:
    with limited(security_stack, {"CHALLENGE_MODE": "always"}) as target:
        yield target


@pytest.fixture
def api(gated: LimitedTarget) -> Iterator[httpx.Client]:
    with gated.client(new_source()) as client:
        yield client


def sign_up(api: httpx.Client, phone: str, altcha: str | None = None) -> httpx.Response:
    body: dict[str, Any] = {
        "name": "Pat Pumper",
        "email": f"{uuid.uuid4().hex[:12]}@example.com",
        "phone_number": phone,
        "password": "analytical engine notes",
    }
    if altcha is not None:
        body["altcha"] = altcha
    return api.post("/register/start", json=body)


def challenge(api: httpx.Client) -> dict[str, Any]:
    response = api.get("/challenge")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    issued: dict[str, Any] = response.json()
    return issued


def refused(response: httpx.Response, code: str) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert (body["code"], body["field"]) == (code, "altcha"), body


def test_a_sign_up_needs_a_solved_challenge_accepted_once(
    gated: LimitedTarget, api: httpx.Client
) -> None:
    # Without a solution: 400 challenge_required naming altcha, and no SMS
    phone = new_number()
    refused(sign_up(api, phone), "challenge_required")
    assert gated.sent_to(phone) == 0
    # With the solution of a fresh challenge: the code goes out
    payload = solve(challenge(api))
    accepted = sign_up(api, phone, payload)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["verification_sent"] is True
    assert gated.sent_to(phone) == 1
    # The same solution again, for another number: 400 challenge_invalid, no SMS
    other = new_number()
    refused(sign_up(api, other, payload), "challenge_invalid")
    assert gated.sent_to(other) == 0


def test_a_password_reset_needs_a_solved_challenge_accepted_once(api: httpx.Client) -> None:
    reset = {"email": DEMO_EMAIL}
    refused(api.post("/password/reset/start", json=reset), "challenge_required")
    payload = solve(challenge(api))
    accepted = api.post("/password/reset/start", json={**reset, "altcha": payload})
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["flow_id"]
    refused(
        api.post("/password/reset/start", json={**reset, "altcha": payload}), "challenge_invalid"
    )
    # and an unknown email is answered alike at every step
    unknown = {"email": f"{uuid.uuid4().hex[:12]}@example.com"}
    refused(api.post("/password/reset/start", json=unknown), "challenge_required")
    solved = solve(challenge(api))
    assert api.post("/password/reset/start", json={**unknown, "altcha": solved}).status_code == 200


def test_forged_and_mismatched_solutions_are_refused(
    gated: LimitedTarget, api: httpx.Client
) -> None:
    phone = new_number()
    issued = challenge(api)
    solved = solve(issued)
    # A signature of the attacker's own making
    refused(sign_up(api, phone, payload_of(issued, 1, signature="0" * 64)), "challenge_invalid")
    # A solution to one challenge, sent with another challenge's signature
    other = challenge(api)
    forged = payload_of(other, 0, salt=issued["salt"], challenge=issued["challenge"])
    refused(sign_up(api, phone, forged), "challenge_invalid")
    # Garbage of the right alphabet, and a field of the wrong alphabet
    refused(sign_up(api, phone, "QUJD"), "challenge_invalid")
    malformed = sign_up(api, phone, "not base64!")
    assert malformed.status_code == 400 and malformed.json()["field"] == "altcha"
    assert gated.sent_to(phone) == 0
    # and the genuine solution, untouched by all that, still works once
    assert sign_up(api, phone, solved).status_code == 200
    assert gated.sent_to(phone) == 1
