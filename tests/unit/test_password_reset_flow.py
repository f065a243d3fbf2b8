"""Self-service password reset by phone, through PasswordResetFlow with in-memory adapters."""

from __future__ import annotations

import pytest

from phoneverify.domain.errors import (
    InvalidCode,
    InvalidCredentials,
    InvalidRequest,
    LoginThrottled,
    NoPendingVerification,
    TooManyAttempts,
    WeakPassword,
)
from phoneverify.domain.models import DeliveryStatus, User
from phoneverify.domain.throttling import account_key
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.flows.password_reset import PasswordResetFlow
from tests.support.answers import answer
from tests.support.builders import (
    ORIGIN,
    PASSWORD,
    PHONE,
    LoginWorld,
    password_reset_world,
    report_delivery,
)

NEW_PASSWORD = "a brand new passphrase for demo"


@pytest.fixture
def reset() -> tuple[LoginWorld, PasswordResetFlow]:
    return password_reset_world()


def test_the_owner_resets_the_password_with_a_code_sent_to_the_phone(
    reset: tuple[LoginWorld, PasswordResetFlow],
) -> None:
    world, flow = reset
    # Given
    started = flow.start("Demo@Example.com", ORIGIN)
    # When
    done = flow.verify(started.flow_id, world.sender.last_code(PHONE), NEW_PASSWORD, ORIGIN)
    # Then the new password holds, the old one not, and every earlier token is ended
    assert answer(done) == {"password_reset": True}
    assert started.phone_hint == "******0123"
    assert isinstance(
        world.flow.start("demo@example.com", NEW_PASSWORD, ORIGIN), SecondFactorRequired
    )
    with pytest.raises(InvalidCredentials):
        world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert world.users.get("u-phone").token_generation == 1  # type: ignore[union-attr]
    assert "password_reset" in world.events.types


@pytest.mark.parametrize("email", ["nobody@example.com", "plain@example.com"])
def test_unknown_emails_and_accounts_without_a_phone_get_the_same_answer_and_no_sms(
    reset: tuple[LoginWorld, PasswordResetFlow], email: str
) -> None:
    world, flow = reset
    # When (after the worker's first send, which opened its connection)
    flow.start("demo@example.com", ORIGIN)
    real = answer(flow.start("demo@example.com", ORIGIN))
    decoy = answer(flow.start(email, ORIGIN))
    again = answer(flow.start(email, ORIGIN))
    # Then the answers have the same fields and shapes, and only the real one sent a code
    assert decoy.keys() == real.keys()
    assert {k: v for k, v in decoy.items() if k not in ("flow_id", "phone_hint")} == {
        k: v for k, v in real.items() if k not in ("flow_id", "phone_hint")
    }
    assert len(decoy["flow_id"]) == len(real["flow_id"])
    assert decoy["phone_hint"].startswith("******") and len(decoy["phone_hint"]) == 10
    assert again["phone_hint"] == decoy["phone_hint"]  # stable, like a real phone's
    assert [phone for phone, _, _ in world.sender.outbox] == [PHONE, PHONE]
    # and each decoy waited as long as the real send took (10 ms by the world's timer)
    assert world.pauses == pytest.approx([0.01, 0.01])


def test_a_decoy_takes_codes_like_a_real_flow_and_never_accepts_one(
    reset: tuple[LoginWorld, PasswordResetFlow],
) -> None:
    world, flow = reset
    # Given
    decoy = flow.start("nobody@example.com", ORIGIN)
    # When every code is tried until the flow closes
    remaining = []
    for guess in range(4):
        with pytest.raises(InvalidCode) as wrong:
            flow.verify(decoy.flow_id, f"{guess:06d}", NEW_PASSWORD, ORIGIN)
        remaining.append(wrong.value.extra["attempts_remaining"])
    with pytest.raises(TooManyAttempts):
        flow.verify(decoy.flow_id, "000004", NEW_PASSWORD, ORIGIN)
    # Then it answered exactly as a real flow with wrong codes would, and changed nothing
    assert remaining == [4, 3, 2, 1]
    assert all(user.token_generation == 0 for user in world.users.by_email.values())


def test_a_decoy_resends_like_a_real_flow(reset: tuple[LoginWorld, PasswordResetFlow]) -> None:
    world, flow = reset
    decoy = flow.start("nobody@example.com", ORIGIN)
    world.clock.advance(30)
    assert answer(flow.resend(decoy.flow_id, ORIGIN))["message"] == "Code resent"
    assert world.sender.outbox == []


def test_a_weak_new_password_is_refused_and_the_code_still_works(
    reset: tuple[LoginWorld, PasswordResetFlow],
) -> None:
    world, flow = reset
    # Given
    started = flow.start("demo@example.com", ORIGIN)
    code = world.sender.last_code(PHONE)
    # When a common password (refused before the code), then the own email (after it)
    with pytest.raises(WeakPassword) as weak:
        flow.verify(started.flow_id, code, "password", ORIGIN)
    with pytest.raises(WeakPassword) as own_email:
        flow.verify(started.flow_id, code, "demo@example.com", ORIGIN)
    # Then the answers name the field, and the code still works
    assert weak.value.extra == {"field": "new_password"}
    assert own_email.value.extra == {"field": "new_password"}
    assert answer(flow.verify(started.flow_id, code, NEW_PASSWORD, ORIGIN))["password_reset"]


def test_a_reset_unlocks_an_account_locked_by_wrong_codes_and_clears_the_throttle(
    reset: tuple[LoginWorld, PasswordResetFlow],
) -> None:
    world, flow = reset
    # Given an account locked by wrong codes, and throttled by wrong passwords
    for _ in range(world.failures.max_failures):
        world.failures.reserve("u-phone")
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            world.flow.start("demo@example.com", "not the password", ORIGIN)
    with pytest.raises(LoginThrottled):
        world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    # When the owner resets the password (the lock does not hold the reset back)
    started = flow.start("demo@example.com", ORIGIN)
    flow.verify(started.flow_id, world.sender.last_code(PHONE), NEW_PASSWORD, ORIGIN)
    # Then the owner signs in at once, and a code is sent again
    assert world.failures.failures("u-phone") == 0
    assert account_key("demo@example.com") not in world.throttle.accounts
    assert isinstance(
        world.flow.start("demo@example.com", NEW_PASSWORD, ORIGIN), SecondFactorRequired
    )


def test_a_reset_code_is_not_a_login_code(reset: tuple[LoginWorld, PasswordResetFlow]) -> None:
    world, flow = reset
    started = flow.start("demo@example.com", ORIGIN)
    with pytest.raises(NoPendingVerification):
        world.flow.verify(started.flow_id, world.sender.last_code(PHONE), ORIGIN)


def test_the_status_of_a_reset_never_tells_delivery(
    reset: tuple[LoginWorld, PasswordResetFlow],
) -> None:
    world, flow = reset
    # Given a real reset whose SMS was delivered
    started = flow.start("demo@example.com", ORIGIN)
    any_flow = world.any_flow
    verification_id = world.sender.outbox[-1][1]
    report_delivery(any_flow, world.store, verification_id, DeliveryStatus.DELIVERED)
    # Then its status reads like a decoy's
    assert any_flow.status(started.flow_id).delivery_status == DeliveryStatus.UNKNOWN


def test_a_malformed_email_is_a_400_naming_it(reset: tuple[LoginWorld, PasswordResetFlow]) -> None:
    _, flow = reset
    with pytest.raises(InvalidRequest) as bad:
        flow.start("not an email", ORIGIN)
    assert bad.value.extra == {"field": "email"}


def test_wrong_reset_codes_count_towards_the_accounts_lock(
    reset: tuple[LoginWorld, PasswordResetFlow],
) -> None:
    world, flow = reset
    started = flow.start("demo@example.com", ORIGIN)
    with pytest.raises(InvalidCode):
        flow.verify(started.flow_id, world.sender.wrong_code(PHONE), NEW_PASSWORD, ORIGIN)
    assert world.failures.failures("u-phone") == 1


def test_an_account_whose_phone_the_policy_now_refuses_gets_a_decoy_not_a_403() -> None:
    # Given an account registered with a Brazilian number, before Brazil was refused
    world, flow = password_reset_world()
    world.users.put_user(
        User("u-br", "brasil@example.com", world.passwords.hash(PASSWORD), "+5511987654321")
    )
    # When someone asks for its password reset
    started = flow.start("brasil@example.com", ORIGIN)
    # Then the answer is the one every email gets, and nothing is sent
    assert started.phone_hint.startswith("******") and len(started.phone_hint) == 10
    assert world.sender.outbox == []
