"""SMS pumping and send floods through the whole local stack: resend storms, one source
walking through numbers, many sources spending the SMS budget, destinations that must never
get a code, and a phone asked for codes by every flow. What counts is what the Telnyx
emulator actually sent.

The caps here are small, so these tests run their functions behind gateways of their own, over
the session stack's DynamoDB Local, SSM and Telnyx emulator, each with a RateLimitsTable of its
own (the session's other tests count nothing in it). Requests come from distinct loopback
addresses (127.0.0.x): API Gateway's source IP is the connection's, as the local gateway's is.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx
import phonenumbers
import pytest

from devtools.local_stack.seeding import DEMO_PASSWORD
from devtools.local_stack.stack import LocalStack
from phoneverify.flows.engine.any_flow import flow_key
from tests.security.conftest import DEMO_EMAIL, DEMO_PHONE, LimitedTarget, limited, new_source
from tests.support.stacks import dynamodb_of

PASSWORD = "analytical engine notes"
_numbers = iter(range(100, 200))  # +1 206 555 01xx, reserved for fiction; no other test uses them


def new_number() -> str:
    return f"+1206555{next(_numbers):04d}"


@dataclass
class PumpTarget(LimitedTarget):
    def register(self, api: httpx.Client, phone: str, **headers: str) -> httpx.Response:
        body = {
            "name": "Pat Pumper",
            "email": f"{uuid.uuid4().hex[:12]}@example.com",
            "phone_number": phone,
            "password": PASSWORD,
        }
        return api.post("/register/start", json=body, headers=headers)


@pytest.fixture(scope="module")
def limits(security_stack: LocalStack) -> Iterator[PumpTarget]:
    """3 codes per phone, 5 per source address and 10 per account an hour; 10 min cooldown."""
    caps = {
        "MAX_SENDS_PER_PHONE": "3",
        "MAX_SENDS_PER_IP": "5",
        "MAX_SENDS_PER_ACCOUNT": "10",
        "SMS_BUDGET": "1000",
        # Every number here is one prefix, whose codes nobody enters: the fraud guard would
        # hold it, and a scripted source past half its cap would be asked for a proof of work
        # (tests/security/test_fraud_guard_campaign.py, test_proof_of_work.py); these tests
        # are about the caps themselves.
        "PREFIX_MIN_CODES": "10000",
        "CHALLENGE_MODE": "off",
        # Longer than twenty queued requests can take on a loaded machine.
        "RESEND_COOLDOWN_SECS": "600",
    }
    with limited(security_stack, caps) as target:
        yield PumpTarget(**vars(target))


@pytest.fixture(scope="module")
def budget(security_stack: LocalStack) -> Iterator[PumpTarget]:
    """An SMS budget of 8 an hour for the whole service; 3 codes per source address."""
    # The gate off: past half its cap a source would be asked for a proof of work first.
    caps = {"MAX_SENDS_PER_IP": "3", "SMS_BUDGET": "8", "CHALLENGE_MODE": "off"}
    with limited(security_stack, caps) as target:
        yield PumpTarget(**vars(target))


def assert_retry_later(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code
    assert 0 < body["retry_after"] <= 3_600
    assert response.headers["Retry-After"] == str(body["retry_after"])


# -- resend storm ----------------------------------------------------------------------------
def cooldown_passed(target: PumpTarget, flow_id: str) -> None:
    """Move the flow's last send back past its cooldown (no test waits on the wall clock)."""
    client = dynamodb_of(target.gateway.extra_env)
    client.update_item(
        TableName="VerificationsTable",
        Key={"pk": {"S": flow_key(flow_id)}},
        UpdateExpression="SET last_sent_at = last_sent_at - :cooldown",
        ExpressionAttributeValues={":cooldown": {"N": "600"}},
    )


def test_twenty_concurrent_resends_after_the_cooldown_send_exactly_one_sms(
    limits: PumpTarget,
) -> None:
    # Given a pending login whose cooldown has passed
    source = new_source()
    with limits.client(source) as api:
        response = api.post("/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
        assert response.status_code == 200, response.text
        flow_id = response.json()["flow_id"]
    sent_before = limits.sent_to(DEMO_PHONE)
    cooldown_passed(limits, flow_id)

    def resend(_: int) -> int:
        with limits.client(source) as api:
            return api.post("/login/resend", json={"flow_id": flow_id}).status_code

    # When twenty resends arrive at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(resend, range(20)))
    # Then one went through and exactly one SMS was sent
    assert statuses.count(200) == 1, statuses
    assert set(statuses) == {200, 429}, statuses
    assert limits.sent_to(DEMO_PHONE) == sent_before + 1


# -- one source, many numbers ----------------------------------------------------------------
def test_one_source_walking_through_numbers_gets_five_codes_out(limits: PumpTarget) -> None:
    # Given an attacker at one address, rotating X-Forwarded-For for good measure
    numbers = [new_number() for _ in range(20)]
    with limits.client(new_source()) as api:
        # When it starts a sign-up for twenty sequential numbers
        responses = [
            limits.register(api, number, **{"X-Forwarded-For": f"198.51.100.{n}"})
            for n, number in enumerate(numbers)
        ]
    # Then the first five got a code, the rest a 429 with Retry-After, and no SMS
    assert [r.status_code for r in responses] == [200] * 5 + [429] * 15
    for refused in responses[5:]:
        assert_retry_later(refused, 429, "send_limit_reached")
    assert sum(limits.sent_to(number) for number in numbers) == 5


# -- destinations that never get a code -------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "code"),
    [
        ("+55 11 91234 5678", "phone_not_allowed"),  # Brazil: not on the allow-list
        ("+1 876 555 0123", "phone_not_allowed"),  # Jamaica, inside +1
        ("+881 6 1234 5678", "phone_not_allowed"),  # satellite (Iridium)
        ("+882 34 2 1234", "phone_not_allowed"),  # international networks
        ("+1 900 555 0123", "invalid_request"),  # premium rate
        ("+44 909 876 5432", "invalid_request"),  # UK premium rate
        ("+49 180 1234567", "invalid_request"),  # German shared cost
    ],
)
def test_refused_destinations_get_no_sms_and_cost_no_quota(
    limits: PumpTarget, typed: str, code: str
) -> None:
    e164 = phonenumbers.format_number(
        phonenumbers.parse(typed), phonenumbers.PhoneNumberFormat.E164
    )
    with limits.client(new_source()) as api:
        # When six sign-ups ask for codes to such a number (more than the address may send)
        responses = [limits.register(api, typed) for _ in range(6)]
        # Then each is a 400 naming the field, and nothing was sent
        for response in responses:
            assert response.status_code == 400, response.text
            assert response.json()["code"] == code
            assert response.json()["field"] == "phone_number"
        assert limits.sent_to(e164) == 0
        # and the refusals used none of the address's sends
        assert limits.register(api, new_number()).status_code == 200


# -- one phone, every flow -------------------------------------------------------------------
def test_the_phone_cap_holds_across_login_and_payment_and_sign_up_counts_apart(
    limits: PumpTarget,
) -> None:
    phone = new_number()
    with limits.client(new_source()) as api:
        # Given an account registered with its own phone (a code of the unproven tier)
        email = f"{uuid.uuid4().hex[:12]}@example.com"
        started = api.post(
            "/register/start",
            json={"name": "Pat", "email": email, "phone_number": phone, "password": PASSWORD},
        )
        assert started.status_code == 200, started.text
        flow_id = started.json()["flow_id"]
        code = limits.emulator.latest_code(phone)
        email_code = limits.emulator.latest_email_code(email)
        codes = {"flow_id": flow_id, "code": code, "email_code": email_code}
        created = api.post("/register/verify", json=codes)
        assert created.status_code == 201, created.text
        auth = {"Authorization": f"Bearer {created.json()['token']}"}
        # and a login, a payment step-up and a login again at once after it: the verified
        # tier's 3 codes for the phone (the sign-up's counted in a tier of its own)
        assert api.post("/login", json={"email": email, "password": PASSWORD}).status_code == 200
        payment = {"amount": "250.00", "currency": "USD", "recipient": "Acme"}
        paid = api.post("/payments/initiate", json=payment, headers=auth)
        assert paid.status_code == 200, paid.text
        assert api.post("/login", json={"email": email, "password": PASSWORD}).status_code == 200
        # When more codes are asked for, by any flow of that tier
        again_login = api.post("/login", json={"email": email, "password": PASSWORD})
        again_pay = api.post("/payments/initiate", json=payment, headers=auth)
    # Then the phone's hourly cap answers, whatever the flow
    assert_retry_later(again_login, 429, "send_limit_reached")
    assert_retry_later(again_pay, 429, "send_limit_reached")
    assert limits.sent_to(phone) == 4


def test_a_telnyx_outage_uses_up_nobodys_limits(limits: PumpTarget) -> None:
    phone = new_number()
    limits.emulator.add_fault("send", status=503, count=4)
    with limits.client(new_source()) as api:
        # When Telnyx fails four sends to one phone (more than its cap of 3)
        failed = [limits.register(api, phone) for _ in range(4)]
        # Then each was a clean 502
        assert {r.status_code for r in failed} == {502}
        assert {r.json()["error"] for r in failed} == {"Failed to send verification code"}
        # and once Telnyx is back the phone and the address have all their sends
        assert limits.register(api, phone).status_code == 200
    assert limits.sent_to(phone) == 1


# -- many sources: the budget -----------------------------------------------------------------
def test_many_sources_pumping_trip_only_the_sign_up_tiers_breaker(budget: PumpTarget) -> None:
    # Given an attacker with six addresses, each within its own cap of three, against a
    # budget of 8 codes an hour, of which sign-ups (the unproven tier, 40 %) get 3
    numbers = [new_number() for _ in range(18)]
    statuses: list[int] = []
    for batch in range(6):
        with budget.client(new_source()) as api:
            for number in numbers[batch * 3 : batch * 3 + 3]:
                response = budget.register(api, number)
                statuses.append(response.status_code)
                if response.status_code == 503:
                    # Then past the tier's budget every sign-up is refused: 503, Retry-After
                    assert_retry_later(response, 503, "sms_budget_exhausted")
                    assert response.json()["error"] == (
                        "Verification codes are temporarily unavailable. Please try again later."
                    )
    assert statuses == [200] * 3 + [503] * 15
    # and the SMS actually sent stop at the tier's budget
    assert sum(budget.sent_to(number) for number in numbers) == 3
    # The breaker is the sign-up tier's: a real person signing in still gets a code
    with budget.client(new_source()) as api:
        login = api.post("/login", json={"email": DEMO_EMAIL, "password": DEMO_PASSWORD})
    assert login.status_code == 200, login.text
    assert login.json()["requires_2fa"] is True
