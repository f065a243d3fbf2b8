"""Channels (docs/channels.md): a code by SMS, voice call or WhatsApp, driven through the
flows with in-memory adapters."""

from __future__ import annotations

from dataclasses import replace

import pytest

from phoneverify.domain.channels import ChannelPolicy
from phoneverify.domain.errors import (
    ChannelNotAllowed,
    InvalidCode,
    ResendTooSoon,
    SendLimitReached,
)
from phoneverify.domain.models import Channel, DeliveryStatus, User
from phoneverify.domain.payment_errors import (
    IdempotencyKeyReused,
)
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.flows.payment import PaymentOrder
from phoneverify.http.errors import error_body, status_of
from tests.support.answers import answer
from tests.support.builders import (
    ORIGIN,
    PASSWORD,
    PHONE,
    LoginWorld,
    login_world,
    payment_world,
    report_delivery,
)
from tests.support.builders import password_reset_world as reset_world

GERMAN_PHONE = "+4915123456789"  # a mobile in a country SMS may go to, calls may not
WHATSAPP_ON = ChannelPolicy(whatsapp_enabled=True)
FALLBACK_ON = ChannelPolicy(sms_fallback_to_call=True)


def start(world: LoginWorld, channel: Channel | None = None, email: str = "demo@example.com"):
    result = world.flow.start(email, PASSWORD, ORIGIN, channel)
    assert isinstance(result, SecondFactorRequired)
    return result.challenge


def add_german_account(world: LoginWorld) -> None:
    world.users.replace(
        User("u-de", "de@example.com", world.passwords.hash(PASSWORD), GERMAN_PHONE)
    )


def status(world: LoginWorld, flow_id: str) -> dict[str, object]:
    return answer(world.any_flow.status(flow_id))


def test_a_login_code_goes_by_call_when_asked_and_the_answer_says_so() -> None:
    # Given
    world = login_world()
    # When
    challenge = start(world, Channel.CALL)
    # Then
    body = answer(SecondFactorRequired(challenge))
    assert body["channel"] == "call"
    assert body["channels"] == ["sms", "call"]
    _, verification_id, code = world.sender.outbox[-1]
    assert world.sender.channels[verification_id] is Channel.CALL
    assert status(world, challenge.flow_id)["channel"] == "call"
    assert world.flow.verify(challenge.flow_id, code, ORIGIN).token


def test_without_a_channel_the_code_goes_by_sms() -> None:
    world = login_world()
    challenge = start(world)
    _, verification_id, _ = world.sender.outbox[-1]
    assert challenge.channel is Channel.SMS
    assert world.sender.channels[verification_id] is Channel.SMS


def test_whatsapp_switched_off_is_a_400_naming_the_channel_and_nothing_is_sent() -> None:
    # Given the default: WhatsApp off
    world = login_world()
    # When
    with pytest.raises(ChannelNotAllowed) as refused:
        start(world, Channel.WHATSAPP)
    # Then
    assert status_of(refused.value) == 400
    assert error_body(refused.value)["field"] == "channel"
    assert world.sender.outbox == []
    assert not any(world.limits.counts.values())


def test_whatsapp_switched_on_sends_by_whatsapp_and_is_offered() -> None:
    world = login_world(WHATSAPP_ON)
    challenge = start(world, Channel.WHATSAPP)
    _, verification_id, _ = world.sender.outbox[-1]
    assert world.sender.channels[verification_id] is Channel.WHATSAPP
    assert challenge.channels == (Channel.SMS, Channel.CALL, Channel.WHATSAPP)


def test_a_call_to_a_country_outside_the_call_allow_list_is_refused_but_sms_goes() -> None:
    # Given an account whose phone is in Germany (SMS allowed, calls not by default)
    world = login_world()
    add_german_account(world)
    # When
    with pytest.raises(ChannelNotAllowed) as refused:
        start(world, Channel.CALL, email="de@example.com")
    challenge = start(world, Channel.SMS, email="de@example.com")
    # Then
    assert error_body(refused.value)["field"] == "channel"
    assert [phone for phone, _, _ in world.sender.outbox] == [GERMAN_PHONE]
    assert world.sender.channels[world.sender.outbox[-1][1]] is Channel.SMS
    # And a resend by call of that flow is refused the same way, the cooldown left unspent
    world.clock.advance(30)
    with pytest.raises(ChannelNotAllowed):
        world.flow.resend(challenge.flow_id, ORIGIN, Channel.CALL)
    assert world.flow.resend(challenge.flow_id, ORIGIN, Channel.SMS).channel is Channel.SMS


def test_calls_have_their_own_cap_per_phone_while_sms_goes_on() -> None:
    # Given two calls per phone and window
    world = login_world(max_sends=20, resend_cooldown_secs=0)
    world.limits.caps = replace(world.limits.caps, calls_per_phone=2)
    flow_id = start(world, Channel.CALL).flow_id
    world.flow.resend(flow_id, ORIGIN, Channel.CALL)
    # When
    with pytest.raises(SendLimitReached) as refused:
        world.flow.resend(flow_id, ORIGIN, Channel.CALL)
    # Then
    assert status_of(refused.value) == 429
    assert world.flow.resend(flow_id, ORIGIN, Channel.SMS).channel is Channel.SMS
    assert [world.sender.channels[vid] for _, vid, _ in world.sender.outbox] == [
        Channel.CALL,
        Channel.CALL,
        Channel.SMS,
    ]


def test_the_service_wide_call_budget_refuses_calls_with_a_429_not_a_503() -> None:
    world = login_world()
    world.limits.caps = replace(world.limits.caps, call_budget=1)
    start(world, Channel.CALL)
    with pytest.raises(SendLimitReached):
        start(world, Channel.CALL)
    assert start(world, Channel.SMS).channel is Channel.SMS


def test_calls_count_in_the_shared_send_limits_too() -> None:
    # Given one send per phone and window, whatever the channel
    world = login_world()
    world.limits.caps = replace(world.limits.caps, per_phone=1)
    start(world, Channel.SMS)
    # When / Then: switching channel does not buy another send
    with pytest.raises(SendLimitReached):
        start(world, Channel.CALL)


def test_switching_channel_does_not_skip_the_resend_cooldown() -> None:
    world = login_world()
    flow_id = start(world).flow_id
    world.clock.advance(10)
    with pytest.raises(ResendTooSoon):
        world.flow.resend(flow_id, ORIGIN, Channel.CALL)
    world.clock.advance(20)
    resent = world.flow.resend(flow_id, ORIGIN, Channel.CALL)
    assert answer(resent)["channel"] == "call"
    assert status(world, flow_id)["channel"] == "call"


def test_the_code_of_a_call_replaces_the_sms_code() -> None:
    world = login_world()
    flow_id = start(world).flow_id
    sms_code = world.sender.last_code(PHONE)
    world.clock.advance(30)
    world.flow.resend(flow_id, ORIGIN, Channel.CALL)
    call_code = world.sender.last_code(PHONE)
    with pytest.raises(InvalidCode):
        world.flow.verify(flow_id, sms_code, ORIGIN)
    assert world.flow.verify(flow_id, call_code, ORIGIN).token


def failed_sms(world: LoginWorld, flow_id: str, failure: DeliveryStatus) -> None:
    _, verification_id, _ = world.sender.outbox[-1]
    flows = world.any_flow
    report_delivery(flows, world.store, verification_id, failure)
    world.clock.advance(30)


@pytest.mark.parametrize("failure", [DeliveryStatus.DELIVERY_FAILED, DeliveryStatus.SENDING_FAILED])
def test_with_fallback_on_a_resend_after_a_failed_sms_goes_by_call(
    failure: DeliveryStatus,
) -> None:
    world = login_world(FALLBACK_ON)
    flow_id = start(world).flow_id
    failed_sms(world, flow_id, failure)
    resent = world.flow.resend(flow_id, ORIGIN)
    assert answer(resent)["channel"] == "call"
    assert world.sender.channels[world.sender.outbox[-1][1]] is Channel.CALL


def test_with_fallback_off_a_resend_after_a_failed_sms_stays_sms() -> None:
    world = login_world()
    flow_id = start(world).flow_id
    failed_sms(world, flow_id, DeliveryStatus.DELIVERY_FAILED)
    assert world.flow.resend(flow_id, ORIGIN).channel is Channel.SMS


def test_fallback_does_not_call_after_a_delivered_sms_or_when_asked_for_sms() -> None:
    world = login_world(FALLBACK_ON)
    flow_id = start(world).flow_id
    failed_sms(world, flow_id, DeliveryStatus.DELIVERED)
    assert world.flow.resend(flow_id, ORIGIN).channel is Channel.SMS
    failed_sms(world, flow_id, DeliveryStatus.DELIVERY_FAILED)
    assert world.flow.resend(flow_id, ORIGIN, Channel.SMS).channel is Channel.SMS


def test_fallback_never_calls_a_country_outside_the_call_allow_list() -> None:
    world = login_world(FALLBACK_ON)
    add_german_account(world)
    flow_id = start(world, email="de@example.com").flow_id
    failed_sms(world, flow_id, DeliveryStatus.DELIVERY_FAILED)
    assert world.flow.resend(flow_id, ORIGIN).channel is Channel.SMS


# -- the password reset answers alike for every email, whatever the channel ----------------
def shape(body: dict[str, object]) -> dict[str, object]:
    return {k: v for k, v in body.items() if k not in ("flow_id", "phone_hint")}


@pytest.mark.parametrize("channel", [None, Channel.SMS, Channel.CALL])
def test_a_reset_answers_alike_for_known_and_unknown_emails_on_every_channel(
    channel: Channel | None,
) -> None:
    world, flow = reset_world(FALLBACK_ON)
    add_german_account(world)
    answers = [
        shape(answer(flow.start(email, ORIGIN, channel)))
        for email in ("demo@example.com", "de@example.com", "nobody@example.com")
    ]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["channel"] == (channel or Channel.SMS).value


def test_a_reset_by_call_to_a_phone_calls_may_not_reach_is_a_decoy() -> None:
    # Given an account whose phone calls may not reach
    world, flow = reset_world()
    add_german_account(world)
    # When
    flow.start("de@example.com", ORIGIN, Channel.CALL)
    # Then nothing was sent to it, and the answer did not say so
    assert world.sender.outbox == []


def test_whatsapp_off_refuses_a_reset_alike_for_known_and_unknown_emails() -> None:
    world, flow = reset_world()
    for email in ("demo@example.com", "nobody@example.com"):
        with pytest.raises(ChannelNotAllowed) as refused:
            flow.start(email, ORIGIN, Channel.WHATSAPP)
        assert error_body(refused.value)["field"] == "channel"
    assert world.sender.outbox == []


def test_a_reset_resend_by_call_answers_alike_for_a_real_flow_and_a_decoy() -> None:
    # Given a real reset flow to a phone calls may not reach, and a decoy
    world, flow = reset_world(FALLBACK_ON)
    add_german_account(world)
    real = flow.start("de@example.com", ORIGIN).flow_id
    sms_code = world.sender.last_code(GERMAN_PHONE)
    decoy = flow.start("nobody@example.com", ORIGIN).flow_id
    failed_sms(world, real, DeliveryStatus.DELIVERY_FAILED)
    # When
    answers = [answer(flow.resend(flow_id, ORIGIN, Channel.CALL)) for flow_id in (real, decoy)]
    # Then the same answer, and no call went out
    assert answers[0] == answers[1] == {**answers[0], "channel": "call"}
    assert [phone for phone, _, _ in world.sender.outbox] == [GERMAN_PHONE]
    # And the code of the SMS that went is still the one that counts
    assert flow.verify(real, sms_code, "A new passphrase of some length", ORIGIN)


def test_a_reset_resend_never_falls_back_to_a_call_on_its_own() -> None:
    # A decoy's SMS never fails: a real flow's fallback would tell them apart.
    world, flow = reset_world(FALLBACK_ON)
    real = flow.start("demo@example.com", ORIGIN).flow_id
    decoy = flow.start("nobody@example.com", ORIGIN).flow_id
    failed_sms(world, real, DeliveryStatus.DELIVERY_FAILED)
    automatic = [answer(flow.resend(flow_id, ORIGIN)) for flow_id in (real, decoy)]
    assert automatic[0] == automatic[1] == {**automatic[0], "channel": "sms"}


# -- payments ------------------------------------------------------------------------------
def test_a_payment_code_goes_by_call_and_a_replay_answers_the_same_channel() -> None:
    # Given a payer asking for the step-up code by call, with an Idempotency-Key
    world = payment_world()
    order = PaymentOrder.parse("250.00", "USD", "Acme", None, Channel.CALL)
    # When the request is sent, then replayed
    first = answer(world.flow.initiate("u-phone", order, ORIGIN, "key-1"))
    again = answer(world.flow.initiate("u-phone", order, ORIGIN, "key-1"))
    # Then the code went by call once, and the replay says so too
    assert first["channel"] == again["channel"] == "call"
    assert first["channels"] == ["sms", "call"]
    assert [world.sender.channels[vid] for _, vid, _ in world.sender.outbox] == [Channel.CALL]
    # And the same key with another channel is another request
    by_sms = PaymentOrder.parse("250.00", "USD", "Acme", None, Channel.SMS)
    with pytest.raises(IdempotencyKeyReused):
        world.flow.initiate("u-phone", by_sms, ORIGIN, "key-1")


def test_a_payment_resend_takes_a_channel() -> None:
    world = payment_world()
    order = PaymentOrder.parse("250.00", "USD", "Acme", None)
    payment_id = answer(world.flow.initiate("u-phone", order, ORIGIN))["payment_id"]
    world.clock.advance(30)
    resent = world.flow.resend("u-phone", payment_id, ORIGIN, Channel.CALL)
    assert answer(resent)["channel"] == "call"
    assert answer(world.verification_status.status("u-phone", payment_id))["channel"] == "call"


def test_an_order_without_a_channel_compares_as_before_channels_existed() -> None:
    order = PaymentOrder.parse("250.00", "USD", "Acme", None)
    assert "channel" not in order.canonical()
