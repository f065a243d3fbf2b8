"""The email channel cannot be turned into a weapon (docs/email.md), proven by replaying the
attacks through the local stack, from many source addresses: sign-up as a registered-email
oracle, one inbox flooded from many places, one place mailing a list of addresses, a campaign
that would spend the email budget; and the owner of a probed address hears of it once a day."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from tests.security.conftest import LimitedTarget, Target, limited, seed_account

PASSWORD = "analytical engine notes"
_numbers = itertools.count(100)  # +1 503 555 01xx, reserved for fiction; no other test uses them
_sources = itertools.count(10)  # 127.0.21.10, .11, ...: this module's own source addresses


def fresh_phone() -> str:
    return f"+1503555{next(_numbers):04d}"


def fresh_email() -> str:
    return f"mail-{uuid.uuid4().hex[:12]}@example.com"


def new_source() -> str:
    return f"127.0.21.{next(_sources)}"


def form(email: str, phone: str | None = None) -> dict[str, str]:
    return {
        "name": "Mallory",
        "email": email,
        "phone_number": phone or fresh_phone(),
        "password": PASSWORD,
    }


def from_source(target: LimitedTarget, body: dict[str, str]) -> httpx.Response:
    with target.client(new_source()) as api:
        return api.post("/register/start", json=body)


@pytest.fixture(scope="module")
def caps(security_stack: LocalStack) -> Iterator[LimitedTarget]:
    """3 emails an hour per address, 4 per source address, a budget of 12; SMS caps far off."""
    env = {
        "MAX_EMAILS_PER_ADDRESS": "3",
        "MAX_EMAILS_PER_IP": "4",
        "EMAIL_BUDGET": "12",
        "MAX_SENDS_PER_IP": "100",
        "MAX_SENDS_PER_PHONE": "100",
        "SMS_BUDGET": "1000",
        "CHALLENGE_MODE": "off",
        "PREFIX_MIN_CODES": "1000",
    }
    with limited(security_stack, env) as target:
        yield target


def test_an_oracle_of_registered_emails_learns_nothing_and_each_owner_hears_once(
    target: Target,
) -> None:
    # Given registered accounts, and an attacker with phones of their own and many sources
    owners = [seed_account(target.stack) for _ in range(6)]
    fresh = [fresh_email() for _ in owners]
    answers: dict[str, list[tuple[int, str]]] = {"taken": [], "fresh": []}
    for _ in range(2):  # each address probed twice in the day
        for owner, other in zip(owners, fresh, strict=True):
            for kind, email in (("taken", owner.email), ("fresh", other)):
                phone = fresh_phone()
                with httpx.Client(
                    base_url=target.stack.api_url,
                    transport=httpx.HTTPTransport(local_address=new_source()),
                    timeout=60,
                ) as api:
                    started = api.post("/register/start", json=form(email, phone))
                    assert started.status_code == 200, started.text
                    # When they prove their phone and guess the email code they never got
                    verify = api.post(
                        "/register/verify",
                        json={
                            "flow_id": started.json()["flow_id"],
                            "code": target.code_for(phone),
                            "email_code": "000000",
                        },
                    )
                answers[kind].append((verify.status_code, verify.text))
    # Then a registered email answers exactly as a fresh one: a wrong code, never email_taken
    assert {a for a in answers["taken"]} == {a for a in answers["fresh"]}
    ((status, text),) = set(answers["taken"])
    assert status == 401 and '"invalid_code"' in text and "email_taken" not in text
    # and each owner got one "someone tried" notice for the two probes, and no code
    for owner in owners:
        mails = target.emulator.emails(owner.email)
        assert [m["code"] for m in mails] == [None], mails
        assert "someone tried" in mails[0]["subject"]


def test_one_inbox_cannot_be_flooded_from_many_places(caps: LimitedTarget) -> None:
    # Given one victim's address, and sign-ups naming it from 10 source addresses
    victim = fresh_email()
    answers = [from_source(caps, form(victim)).status_code for _ in range(10)]
    # Then the address got its cap of 3 emails, and the rest were refused before any SMS
    assert answers == [200] * 3 + [429] * 7
    assert len(caps.emulator.emails(victim)) == 3


def test_one_place_cannot_mail_a_list_of_addresses(caps: LimitedTarget) -> None:
    # Given one source and a list of 8 addresses
    source = new_source()
    with caps.client(source) as api:
        answers = [
            api.post("/register/start", json=form(fresh_email())).status_code for _ in range(8)
        ]
    # Then the source got its cap of 4 emails an hour
    assert answers == [200] * 4 + [429] * 4


def test_a_campaign_spends_one_email_budget_at_most_and_is_told_so(
    security_stack: LocalStack,
) -> None:
    # Given a budget of 5 emails an hour, and a campaign from many sources to many addresses
    env = {"EMAIL_BUDGET": "5", "CHALLENGE_MODE": "off", "PREFIX_MIN_CODES": "1000"}
    with limited(security_stack, env) as budget:
        answers = [from_source(budget, form(fresh_email())) for _ in range(9)]
    # Then 5 went, and the breaker answered the rest with a 503 that says when to come back
    assert [a.status_code for a in answers] == [200] * 5 + [503] * 4
    refused = answers[-1]
    assert refused.json()["code"] == "email_budget_exhausted"
    assert refused.headers["Retry-After"] == str(refused.json()["retry_after"])
