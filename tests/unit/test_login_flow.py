"""Login with a second factor, driven through LoginFlow with in-memory adapters."""

from __future__ import annotations

import pytest

from phoneverify.domain.errors import (
    CheckInProgress,
    CodeCheckFailed,
    CodeDeliveryFailed,
    InvalidCode,
    InvalidCredentials,
    InvalidRequest,
    NoPendingVerification,
    ResendTooSoon,
    SendLimitReached,
    TooManyAttempts,
    VerificationExpired,
)
from phoneverify.domain.models import FlowKind
from phoneverify.domain.tokens import AccessToken
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.http.errors import error_body, error_headers, status_of
from tests.support.answers import answer
from tests.support.builders import ORIGIN, PASSWORD, PHONE, LoginWorld, login_world


@pytest.fixture
def world() -> LoginWorld:
    return login_world()


def start_2fa(world: LoginWorld) -> str:
    result = world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(result, SecondFactorRequired)
    return result.challenge.flow_id


def test_account_without_phone_gets_a_token_at_once(world: LoginWorld) -> None:
    # When
    result = world.flow.start("plain@example.com", PASSWORD, ORIGIN)
    # Then
    assert isinstance(result, AccessToken)
    assert world.tokens.decode_access_token(result.token)["sub"] == "u-plain"
    assert world.sender.outbox == []


def test_account_with_phone_gets_a_challenge_and_an_sms(world: LoginWorld) -> None:
    # When
    result = world.flow.start("  Demo@Example.COM ", PASSWORD, ORIGIN)
    # Then
    assert isinstance(result, SecondFactorRequired)
    body = answer(result)
    assert body["requires_2fa"] is True
    assert body["phone_hint"] == "+1******0123"
    assert body["timeout_secs"] == 300
    assert body["code_length"] == 6
    assert body["resend_after_secs"] == 30
    assert len(body["flow_id"]) >= 22  # at least 128 random bits, URL-safe
    assert body["factors"] == ["sms"]
    assert [phone for phone, _, _ in world.sender.outbox] == [PHONE]
    # The table never holds the flow id itself.
    assert body["flow_id"] not in world.store.items


@pytest.mark.parametrize(
    ("email", "password"),
    [("demo@example.com", "wrong password"), ("nobody@example.com", PASSWORD)],
)
def test_wrong_password_and_unknown_email_are_indistinguishable(
    world: LoginWorld, email: str, password: str
) -> None:
    # When / Then
    with pytest.raises(InvalidCredentials) as caught:
        world.flow.start(email, password, ORIGIN)
    assert error_body(caught.value) == {
        "error": "Invalid credentials",
        "code": "invalid_credentials",
    }
    assert world.sender.outbox == []


def test_right_code_issues_a_token_for_the_user_once(world: LoginWorld) -> None:
    # Given
    flow_id = start_2fa(world)
    code = world.sender.last_code(PHONE)
    # When
    token = world.flow.verify(flow_id, code, ORIGIN)
    # Then
    claims = world.tokens.decode_access_token(token.token)
    assert claims["sub"] == "u-phone"
    with pytest.raises(NoPendingVerification):
        world.flow.verify(flow_id, code, ORIGIN)
    assert world.events.types == ["password_accepted", "sent", "accepted"]


def test_wrong_codes_count_down_then_close_the_flow_for_good(world: LoginWorld) -> None:
    # Given
    flow_id = start_2fa(world)
    wrong = world.sender.wrong_code(PHONE)
    # When
    remaining = []
    for _ in range(4):
        with pytest.raises(InvalidCode) as caught:
            world.flow.verify(flow_id, wrong, ORIGIN)
        remaining.append(error_body(caught.value)["attempts_remaining"])
    with pytest.raises(TooManyAttempts) as closing:
        world.flow.verify(flow_id, wrong, ORIGIN)
    # Then
    assert remaining == [4, 3, 2, 1]
    assert status_of(closing.value) == 429
    assert error_body(closing.value)["error"] == (
        "Too many attempts. Please start the login process again."
    )
    with pytest.raises(TooManyAttempts):
        world.flow.verify(flow_id, world.sender.last_code(PHONE), ORIGIN)
    with pytest.raises(TooManyAttempts):
        world.flow.resend(flow_id, ORIGIN)
    assert "locked" in world.events.types


def test_expired_flow_answers_410_even_with_the_right_code(world: LoginWorld) -> None:
    # Given
    flow_id = start_2fa(world)
    code = world.sender.last_code(PHONE)
    # When
    world.clock.advance(300)
    # Then
    with pytest.raises(VerificationExpired) as caught:
        world.flow.verify(flow_id, code, ORIGIN)
    assert status_of(caught.value) == 410
    assert error_body(caught.value)["error"] == "Verification expired. Start login again."


def test_a_record_past_retention_cannot_be_revived_even_if_ttl_has_not_deleted_it(
    world: LoginWorld,
) -> None:
    # Given
    flow_id = start_2fa(world)
    # When
    world.clock.advance(300 + 86_400)
    # Then
    with pytest.raises(VerificationExpired):
        world.flow.verify(flow_id, world.sender.last_code(PHONE), ORIGIN)
    with pytest.raises(NoPendingVerification):
        world.flow.resend(flow_id, ORIGIN)


def test_unknown_flow_id_is_no_pending_verification(world: LoginWorld) -> None:
    with pytest.raises(NoPendingVerification) as caught:
        world.flow.verify("x" * 43, "123456", ORIGIN)
    assert error_body(caught.value)["error"] == "No pending verification. Start login again."


def test_a_second_check_while_one_is_in_flight_is_told_to_wait(world: LoginWorld) -> None:
    # Given a check of this flow in flight (its lease taken, Telnyx not yet answered)
    flow_id = start_2fa(world)
    record = next(iter(world.store.items.values()))
    now = world.clock.now()
    assert world.store.reserve_attempt(record.flow_key, record.kind, now, now + 20).done
    # When a second request checks the right code
    with pytest.raises(CheckInProgress) as caught:
        world.flow.verify(flow_id, world.sender.last_code(PHONE), ORIGIN)
    # Then it is told to retry, and did not use an attempt
    assert status_of(caught.value) == 409
    assert error_headers(caught.value) == {"Retry-After": "20"}
    assert next(iter(world.store.items.values())).attempts == 1
    # and once the lease lapses the flow can be checked again
    world.clock.advance(20)
    assert world.flow.verify(flow_id, world.sender.last_code(PHONE), ORIGIN).token


def test_resend_waits_for_the_cooldown_then_replaces_the_code(world: LoginWorld) -> None:
    # Given
    flow_id = start_2fa(world)
    old_code = world.sender.last_code(PHONE)
    # When
    world.clock.advance(10)
    with pytest.raises(ResendTooSoon) as too_soon:
        world.flow.resend(flow_id, ORIGIN)
    world.clock.advance(20)
    resent = world.flow.resend(flow_id, ORIGIN)
    new_code = world.sender.last_code(PHONE)
    # Then
    assert too_soon.value.retry_after == 20
    assert error_headers(too_soon.value) == {"Retry-After": "20"}
    assert answer(resent) == {
        "message": "Code resent",
        "timeout_secs": 300,
        "resend_after_secs": 30,
        "channel": "sms",
    }
    assert new_code != old_code
    with pytest.raises(InvalidCode):
        world.flow.verify(flow_id, old_code, ORIGIN)
    assert world.tokens.decode_access_token(world.flow.verify(flow_id, new_code, ORIGIN).token)[
        "sub"
    ] == ("u-phone")


def test_resend_restarts_the_expiry_even_after_it_passed(world: LoginWorld) -> None:
    # Given
    flow_id = start_2fa(world)
    world.clock.advance(400)
    # When
    world.flow.resend(flow_id, ORIGIN)
    world.clock.advance(290)
    # Then
    assert world.flow.verify(flow_id, world.sender.last_code(PHONE), ORIGIN).token


def test_resend_is_capped_per_flow(world: LoginWorld) -> None:
    # Given
    flow_id = start_2fa(world)
    # When
    for _ in range(4):
        world.clock.advance(30)
        world.flow.resend(flow_id, ORIGIN)
    world.clock.advance(30)
    # Then
    with pytest.raises(SendLimitReached) as caught:
        world.flow.resend(flow_id, ORIGIN)
    assert status_of(caught.value) == 429
    assert caught.value.retry_after > 0
    assert len(world.sender.outbox) == 5


def test_telnyx_failing_at_start_leaves_nothing_behind(world: LoginWorld) -> None:
    # Given
    world.sender.fail_sends = 1
    # When / Then
    with pytest.raises(CodeDeliveryFailed) as caught:
        world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert status_of(caught.value) == 502
    assert error_body(caught.value)["error"] == "Failed to send verification code"
    assert world.store.items == {}


def test_telnyx_failing_at_check_consumes_no_attempt(world: LoginWorld) -> None:
    # Given
    flow_id = start_2fa(world)
    world.sender.fail_checks = 1
    # When
    with pytest.raises(CodeCheckFailed) as caught:
        world.flow.verify(flow_id, world.sender.last_code(PHONE), ORIGIN)
    # Then
    assert error_body(caught.value)["error"] == "Verification failed"
    with pytest.raises(InvalidCode) as wrong:
        world.flow.verify(flow_id, world.sender.wrong_code(PHONE), ORIGIN)
    assert error_body(wrong.value)["attempts_remaining"] == 4
    assert world.flow.verify(flow_id, world.sender.last_code(PHONE), ORIGIN).token


def test_telnyx_failing_at_resend_keeps_the_old_code_and_the_send_budget(
    world: LoginWorld,
) -> None:
    # Given
    flow_id = start_2fa(world)
    old_code = world.sender.last_code(PHONE)
    world.clock.advance(30)
    world.sender.fail_sends = 1
    # When
    with pytest.raises(CodeDeliveryFailed):
        world.flow.resend(flow_id, ORIGIN)
    # Then: no cooldown was started and the old code still works
    world.flow.resend(flow_id, ORIGIN)
    world.clock.advance(30)
    record = next(iter(world.store.items.values()))
    assert record.send_count == 2
    assert world.flow.verify(flow_id, world.sender.last_code(PHONE), ORIGIN).token
    assert old_code  # the first code was delivered before the failure


def test_a_code_of_the_wrong_length_is_refused_without_using_an_attempt(
    world: LoginWorld,
) -> None:
    # Given
    flow_id = start_2fa(world)
    # When
    with pytest.raises(InvalidRequest) as caught:
        world.flow.verify(flow_id, "1234", ORIGIN)
    # Then
    assert error_body(caught.value)["field"] == "code"
    assert next(iter(world.store.items.values())).attempts == 0


def test_a_login_flow_cannot_be_completed_by_another_flow_kind(world: LoginWorld) -> None:
    # Given
    flow_id = start_2fa(world)
    registration = world.challenges(FlowKind.REGISTRATION)
    # When / Then
    with pytest.raises(NoPendingVerification):
        registration.check(flow_id, world.sender.last_code(PHONE), ORIGIN)


def test_two_flows_for_one_phone_never_accept_each_others_code(world: LoginWorld) -> None:
    # Given two logins pending for the same phone
    first = start_2fa(world)
    first_code = world.sender.last_code(PHONE)
    second = start_2fa(world)
    second_code = world.sender.last_code(PHONE)
    assert first_code != second_code
    # When / Then
    with pytest.raises(InvalidCode):
        world.flow.verify(first, second_code, ORIGIN)
    assert world.flow.verify(second, second_code, ORIGIN).token


def test_events_never_carry_the_code_or_the_full_phone(world: LoginWorld) -> None:
    # Given
    flow_id = start_2fa(world)
    code = world.sender.last_code(PHONE)
    # When
    with pytest.raises(InvalidCode):
        world.flow.verify(flow_id, world.sender.wrong_code(PHONE), ORIGIN)
    world.flow.verify(flow_id, code, ORIGIN)
    # Then
    text = repr(world.events.events)
    assert code not in text
    assert PHONE not in text
    assert world.events.types == ["password_accepted", "sent", "rejected", "accepted"]
