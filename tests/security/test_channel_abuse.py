"""Voice toll fraud and channel games through the whole local stack (docs/channels.md): calls
to countries off the call allow-list, a number called over and over, many numbers spending the
call budget, WhatsApp while it is switched off, and channel switching to get around the send
limits or the resend cooldown. What counts is what the Telnyx emulator actually sent, and by
which channel.

As in test_sms_pumping.py, the caps are small, so the functions run behind a gateway of their
own with a RateLimitsTable of its own, and requests come from distinct loopback addresses.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator

import httpx
import pytest

from devtools.local_stack.seeding import DEMO_PASSWORD
from devtools.local_stack.stack import LocalStack
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.flows.engine.any_flow import flow_key
from tests.security.conftest import Target, limited, new_source
from tests.security.test_sms_pumping import PumpTarget
from tests.support.stacks import dynamodb_of

_us_numbers = itertools.count(100)  # +1 617 555 01xx: reserved for fiction, used only here
_german_numbers = itertools.count(10)  # +49 151 234567xx: German mobiles, used only here
COOLDOWN_SECS = 600


def us_number() -> str:
    return f"+1617555{next(_us_numbers):04d}"


def german_number() -> str:
    return f"+49151234567{next(_german_numbers):02d}"


@pytest.fixture(scope="module")
def calls(security_stack: LocalStack) -> Iterator[PumpTarget]:
    """2 calls per phone and 50 calls service-wide an hour; 4 codes per phone whatever the
    channel; WhatsApp off (the default); a 10 min cooldown."""
    caps = {
        "MAX_CALLS_PER_PHONE": "2",
        "CALL_BUDGET": "50",
        "MAX_SENDS_PER_PHONE": "4",
        "MAX_SENDS_PER_IP": "100",
        "RESEND_COOLDOWN_SECS": str(COOLDOWN_SECS),
        # One prefix, no code entered: the fraud guard would hold it; these tests are about
        # the channels' caps (the guard's own: tests/security/test_fraud_guard_campaign.py).
        "PREFIX_MIN_CODES": "10000",
    }
    with limited(security_stack, caps) as target:
        yield PumpTarget(**vars(target))


def channels_sent(target: PumpTarget, phone: str) -> list[str]:
    """The channel of every message the emulator sent to `phone`, oldest first."""
    sent = target.emulator.messages(phone, include_undelivered=True)
    return [str(m["channel"]) for m in reversed(sent)]


def register(target: PumpTarget, phone: str, channel: str | None) -> httpx.Response:
    body: dict[str, str] = {
        "name": "Tolly Fraudster",
        "email": f"{uuid.uuid4().hex[:12]}@example.com",
        "phone_number": phone,
        "password": "premium rate revenue share",
    }
    if channel is not None:
        body["channel"] = channel
    with target.client(new_source()) as api:
        return api.post("/register/start", json=body)


def cooldown_passed(target: PumpTarget, flow_id: str) -> None:
    """Move the flow's last send back past its cooldown (no test waits on the wall clock)."""
    dynamodb_of(target.gateway.extra_env).update_item(
        TableName="VerificationsTable",
        Key={"pk": {"S": flow_key(flow_id)}},
        UpdateExpression="SET last_sent_at = last_sent_at - :cooldown",
        ExpressionAttributeValues={":cooldown": {"N": str(COOLDOWN_SECS)}},
    )


def assert_channel_refused(response: httpx.Response) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "channel_not_allowed"
    assert response.json()["field"] == "channel"


# -- toll fraud: calls where they cost ------------------------------------------------------
def test_a_sign_up_cannot_have_a_code_called_to_a_country_off_the_call_allow_list(
    calls: PumpTarget,
) -> None:
    # Given a German mobile: SMS may go to Germany, calls may not (CALL_ALLOWED_COUNTRIES)
    phone = german_number()
    # When an attacker asks for the code by call
    refused = register(calls, phone, "call")
    # Then the call is refused naming the channel, and nothing was placed
    assert_channel_refused(refused)
    assert channels_sent(calls, phone) == []
    # While an SMS to the same number still goes
    assert register(calls, phone, "sms").status_code == 200
    assert channels_sent(calls, phone) == ["sms"]


def test_one_number_gets_two_calls_an_hour_however_many_sign_ups_ask(calls: PumpTarget) -> None:
    # Given a number the attacker earns from per call answered
    phone = us_number()
    # When five sign-ups from five addresses ask for a call to it
    statuses = [register(calls, phone, "call").status_code for _ in range(5)]
    # Then two calls were placed; the rest got the send limit's 429
    assert statuses == [200, 200, 429, 429, 429]
    assert channels_sent(calls, phone) == ["call", "call"]
    # And the number still gets its code by SMS
    assert register(calls, phone, "sms").status_code == 200


def test_many_numbers_cannot_spend_more_than_the_call_budget(security_stack: LocalStack) -> None:
    # Given a service whose call budget no other test touches: 8 an hour, of which sign-ups
    # (the unproven tier's 40 %) get 3
    with limited(security_stack, {"CALL_BUDGET": "8", "MAX_SENDS_PER_IP": "100"}) as limited_:
        target = PumpTarget(**vars(limited_))
        numbers = [us_number() for _ in range(6)]
        # When six numbers are each asked to be called once
        answers = [register(target, phone, "call") for phone in numbers]
        # Then three calls went out, and the rest were refused with a 429, not a 503
        assert [a.status_code for a in answers] == [200, 200, 200, 429, 429, 429]
        assert {a.json()["code"] for a in answers[3:]} == {"send_limit_reached"}
        assert sum(len(channels_sent(target, phone)) for phone in numbers) == 3
        # And SMS is untouched by the spent call budget
        assert register(target, numbers[-1], "sms").status_code == 200


# -- WhatsApp switched off --------------------------------------------------------------------
def test_whatsapp_switched_off_is_refused_on_start_and_resend(calls: PumpTarget) -> None:
    phone = us_number()
    assert_channel_refused(register(calls, phone, "whatsapp"))
    started = register(calls, phone, None)
    assert started.status_code == 200
    assert started.json()["channels"] == ["sms", "call"]
    flow_id = started.json()["flow_id"]
    cooldown_passed(calls, flow_id)
    with calls.client(new_source()) as api:
        resent = api.post("/register/resend", json={"flow_id": flow_id, "channel": "whatsapp"})
    assert_channel_refused(resent)
    assert channels_sent(calls, phone) == ["sms"]


def test_a_channel_that_does_not_exist_is_a_400_naming_the_field(calls: PumpTarget) -> None:
    phone = us_number()
    response = register(calls, phone, "carrier-pigeon")
    assert response.status_code == 400, response.text
    assert response.json()["code"] == "invalid_request"
    assert "channel" in response.text
    assert channels_sent(calls, phone) == []


# -- channel switching ------------------------------------------------------------------------
def test_switching_channel_does_not_skip_the_resend_cooldown(calls: PumpTarget) -> None:
    # Given a sign-up whose code just went by SMS
    phone = us_number()
    flow_id = register(calls, phone, "sms").json()["flow_id"]
    with calls.client(new_source()) as api:
        # When the attacker asks at once for a call, then for SMS again
        by_call = api.post("/register/resend", json={"flow_id": flow_id, "channel": "call"})
        by_sms = api.post("/register/resend", json={"flow_id": flow_id, "channel": "sms"})
        # Then both wait for the one cooldown
        for response in (by_call, by_sms):
            assert response.status_code == 429, response.text
            assert response.json()["code"] == "resend_cooldown"
        # And once it has passed, the call goes
        cooldown_passed(calls, flow_id)
        resent = api.post("/register/resend", json={"flow_id": flow_id, "channel": "call"})
    assert resent.status_code == 200, resent.text
    assert resent.json()["channel"] == "call"
    assert channels_sent(calls, phone) == ["sms", "call"]


def test_switching_channel_does_not_buy_sends_beyond_the_phone_cap(calls: PumpTarget) -> None:
    # Given a number, and a cap of four codes per phone an hour whatever the channel
    phone = us_number()
    # When sign-ups ask for its code by SMS, call, SMS, call, SMS, call
    order = ["sms", "call", "sms", "call", "sms", "call"]
    statuses = [register(calls, phone, channel).status_code for channel in order]
    # Then four codes went out in all
    assert statuses == [200, 200, 200, 200, 429, 429]
    assert channels_sent(calls, phone) == ["sms", "call", "sms", "call"]


# -- the password reset tells nothing, whatever the channel -----------------------------------
def seed_german_account(stack: LocalStack) -> str:
    email = f"reset-de-{uuid.uuid4().hex[:10]}@example.com"
    user = User(
        f"reset-de-{uuid.uuid4().hex[:10]}",
        email,
        PasswordHasher(cost=4).hash(DEMO_PASSWORD),
        german_number(),
        "Ger Many",
    )
    DynamoUserRepository(dynamodb_of(stack.aws_env), "UsersTable").put_user(user)
    return email


@pytest.mark.parametrize("channel", ["sms", "call"])
def test_a_reset_by_any_channel_answers_alike_for_known_and_unknown_emails(
    target: Target, channel: str
) -> None:
    # Given an account whose phone calls may reach, one whose phone they may not, and no
    # account at all
    emails = [
        "demo@example.com",
        seed_german_account(target.stack),
        f"nobody-{uuid.uuid4().hex[:10]}@example.com",
    ]
    # When an attacker asks each for a reset code by `channel`
    answers = [
        target.api.post("/password/reset/start", json={"email": email, "channel": channel})
        for email in emails
    ]
    # Then the answers differ only in the flow id and the hint
    assert {a.status_code for a in answers} == {200}
    shapes = [
        {k: v for k, v in a.json().items() if k not in ("flow_id", "phone_hint")} for a in answers
    ]
    assert shapes[0] == shapes[1] == shapes[2]
    assert shapes[0]["channel"] == channel
    # And a resend by call of each, once allowed, answers alike too
    statuses = []
    for answer in answers:
        flow_id = answer.json()["flow_id"]
        dynamodb_of(target.stack.aws_env).update_item(
            TableName="VerificationsTable",
            Key={"pk": {"S": flow_key(flow_id)}},
            UpdateExpression="SET last_sent_at = last_sent_at - :cooldown",
            ExpressionAttributeValues={":cooldown": {"N": "3600"}},
        )
        resent = target.api.post(
            "/password/reset/resend", json={"flow_id": flow_id, "channel": "call"}
        )
        statuses.append((resent.status_code, resent.json().get("channel")))
    assert statuses == [(200, "call")] * 3
