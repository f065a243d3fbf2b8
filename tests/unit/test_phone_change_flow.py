"""Adding or changing the account's phone, through PhoneChangeFlow with in-memory adapters."""

from __future__ import annotations

import pytest

from phoneverify.domain.errors import (
    InvalidCredentials,
    InvalidPhoneNumber,
    InvalidRequest,
    LoginThrottled,
    NoPendingVerification,
    NotAuthenticated,
    PhoneAlreadyRegistered,
    PhoneSuperseded,
    ResendTooSoon,
)
from phoneverify.domain.models import NoticeEvent
from phoneverify.flows.engine.policy import OpenedChallenge
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.flows.phone_change import PhoneChanged
from tests.support.answers import answer
from tests.support.builders import ORIGIN, PASSWORD, PHONE, PhoneChangeWorld, phone_change_world

NEW_PHONE = "+13125550177"
OTHER_PHONE = "+13125550178"


@pytest.fixture
def w() -> PhoneChangeWorld:
    return phone_change_world()


def change(w: PhoneChangeWorld, user_id: str, phone: str) -> PhoneChanged:
    started = start(w, user_id, phone)
    return w.flow.verify(user_id, started.flow_id, w.world.sender.last_code(phone), ORIGIN)


def start(
    w: PhoneChangeWorld, user_id: str, phone: str, password: str = PASSWORD
) -> OpenedChallenge:
    """As the account would: u-phone with a fresh reauth token, u-plain with its password."""
    if user_id == "u-plain":
        return w.flow.start(w.caller(user_id, reauth=False), phone, password, ORIGIN)
    return w.flow.start(w.caller(user_id), phone, None, ORIGIN)


def test_the_owner_changes_the_number_and_the_next_login_sends_the_code_there(
    w: PhoneChangeWorld,
) -> None:
    # Given
    started = start(w, "u-phone", NEW_PHONE)
    # When
    code = w.world.sender.last_code(NEW_PHONE)
    changed = w.flow.verify("u-phone", started.flow_id, code, ORIGIN)
    # Then the account holds the new number, the old one is told, and login sends there
    assert answer(changed) == {
        "phone_changed": True,
        "phone_hint": "+1******0177",
        "added": False,
        "token": changed.token.token,
        "token_type": "Bearer",
        "expires_in": 3600,
    }
    assert started.phone_hint == "+1******0177"
    assert w.world.users.get("u-phone").phone_number == NEW_PHONE  # type: ignore[union-attr]
    assert w.world.users.find_by_phone(PHONE) is None
    assert w.notices.sent == [(PHONE, NoticeEvent.PHONE_CHANGED)]
    login = w.world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(login, SecondFactorRequired)
    assert w.world.sender.outbox[-1][0] == NEW_PHONE
    assert {"password_accepted", "sent", "accepted", "phone_changed"} <= set(w.world.events.types)


def test_an_account_without_a_phone_adds_one_and_has_a_second_factor_from_then_on(
    w: PhoneChangeWorld,
) -> None:
    # Given an account that signs in with the password alone
    assert not isinstance(
        w.world.flow.start("plain@example.com", PASSWORD, ORIGIN), SecondFactorRequired
    )
    # When
    changed = change(w, "u-plain", NEW_PHONE)
    # Then
    assert changed.added
    assert w.notices.sent == [(NEW_PHONE, NoticeEvent.PHONE_ADDED)]
    assert isinstance(
        w.world.flow.start("plain@example.com", PASSWORD, ORIGIN), SecondFactorRequired
    )
    assert "phone_added" in w.world.events.types


def test_a_wrong_password_sends_nothing_and_counts_in_the_login_throttle(
    w: PhoneChangeWorld,
) -> None:
    # Given an account without a phone, which proves itself with its password
    # When
    for _ in range(5):
        with pytest.raises(InvalidCredentials) as refused:
            start(w, "u-plain", NEW_PHONE, "not the password")
        assert refused.value.extra == {"field": "password"}
    # Then no code went out, and the next try waits, even with the right password: at /login too
    assert w.world.sender.outbox == []
    with pytest.raises(LoginThrottled):
        start(w, "u-plain", NEW_PHONE)
    with pytest.raises(LoginThrottled):
        w.world.flow.start("plain@example.com", PASSWORD, ORIGIN)
    assert "password_rejected" in w.world.events.types


@pytest.mark.parametrize("phone", ["12", "+1 415 555 01234567", "+447700900123x"])
def test_a_bad_number_is_refused_naming_the_field_before_the_password_counts(
    w: PhoneChangeWorld, phone: str
) -> None:
    with pytest.raises(InvalidPhoneNumber) as refused:
        start(w, "u-plain", phone, "not the password")
    assert refused.value.extra.get("field") == "phone_number"
    # The throttle counted nothing: five wrong passwords still answer "wrong", not "wait".
    for _ in range(5):
        with pytest.raises(InvalidCredentials):
            start(w, "u-plain", NEW_PHONE, "not the password")


def test_the_current_number_is_refused_once_the_step_up_holds(w: PhoneChangeWorld) -> None:
    with pytest.raises(InvalidRequest) as refused:
        start(w, "u-phone", "(415) 555-0123")
    assert refused.value.extra == {"field": "phone_number"}
    assert w.world.sender.outbox == []


def test_another_account_cannot_verify_or_resend_the_flow_and_costs_it_no_attempt(
    w: PhoneChangeWorld,
) -> None:
    # Given
    started = start(w, "u-phone", NEW_PHONE)
    code = w.world.sender.last_code(NEW_PHONE)
    # When another signed-in account tries it
    with pytest.raises(NoPendingVerification):
        w.flow.verify("u-plain", started.flow_id, code, ORIGIN)
    with pytest.raises(NoPendingVerification):
        w.flow.resend("u-plain", started.flow_id, ORIGIN)
    # Then nothing changed for either, and the owner still finishes it
    assert w.world.users.get("u-plain").phone_number is None  # type: ignore[union-attr]
    assert change_verified(w, "u-phone", started.flow_id, code)


def change_verified(w: PhoneChangeWorld, user_id: str, flow_id: str, code: str) -> bool:
    return w.flow.verify(user_id, flow_id, code, ORIGIN).phone_hint.endswith("0177")


def test_a_number_of_another_account_answers_phone_taken_only_after_it_is_proven(
    w: PhoneChangeWorld,
) -> None:
    # Given the demo account holds PHONE; the plain account asks for it
    started = start(w, "u-plain", PHONE)
    free = start(w, "u-plain", NEW_PHONE)
    # Then start answered alike, and only the proven code says it is taken
    assert answer(started).keys() == answer(free).keys()
    with pytest.raises(PhoneAlreadyRegistered) as taken:
        w.flow.verify("u-plain", started.flow_id, w.world.sender.last_code(PHONE), ORIGIN)
    assert taken.value.code == "phone_taken"
    assert w.world.users.get("u-plain").phone_number is None  # type: ignore[union-attr]
    assert w.world.users.find_by_phone(PHONE).user_id == "u-phone"  # type: ignore[union-attr]
    assert w.notices.sent == []


def test_of_two_changes_started_together_only_the_first_verified_holds(
    w: PhoneChangeWorld,
) -> None:
    # Given
    first = start(w, "u-phone", NEW_PHONE)
    second = start(w, "u-phone", OTHER_PHONE)
    second_code = w.world.sender.last_code(OTHER_PHONE)
    change_verified(w, "u-phone", first.flow_id, w.world.sender.last_code(NEW_PHONE))
    # When
    with pytest.raises(PhoneSuperseded):
        w.flow.verify("u-phone", second.flow_id, second_code, ORIGIN)
    # Then
    assert w.world.users.get("u-phone").phone_number == NEW_PHONE  # type: ignore[union-attr]
    assert w.world.users.find_by_phone(OTHER_PHONE) is None


def test_flows_sent_to_the_old_number_end_with_the_change(w: PhoneChangeWorld) -> None:
    # Given a login and a password reset whose codes went to the old number
    login = w.world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(login, SecondFactorRequired)
    login_code = w.world.sender.last_code(PHONE)
    reset = w.reset.start("demo@example.com", ORIGIN)
    reset_code = w.world.sender.last_code(PHONE)
    # When the number changes
    change(w, "u-phone", NEW_PHONE)
    # Then their right codes open nothing, and the flows are over
    with pytest.raises(PhoneSuperseded):
        w.world.flow.verify(login.challenge.flow_id, login_code, ORIGIN)
    with pytest.raises(PhoneSuperseded):
        w.reset.verify(reset.flow_id, reset_code, "another brand new passphrase", ORIGIN)
    with pytest.raises(NoPendingVerification):
        w.world.flow.verify(login.challenge.flow_id, login_code, ORIGIN)
    assert w.world.events.types.count("phone_superseded") == 2
    assert w.world.failures.failures("u-phone") == 0  # right codes count as no wrong ones


def test_the_account_gone_since_the_token_was_issued_is_not_authenticated(
    w: PhoneChangeWorld,
) -> None:
    with pytest.raises(NotAuthenticated):
        start(w, "u-gone", NEW_PHONE)


def test_a_change_back_and_forth_still_ends_flows_sent_under_the_first_number(
    w: PhoneChangeWorld,
) -> None:
    # Given a login sent to PHONE, then PHONE -> NEW_PHONE -> PHONE
    login = w.world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(login, SecondFactorRequired)
    login_code = w.world.sender.last_code(PHONE)
    change(w, "u-phone", NEW_PHONE)
    w.world.clock.advance(60)
    change(w, "u-phone", PHONE)
    # Then the number is the same as then, but the flow is not revived
    with pytest.raises(PhoneSuperseded):
        w.world.flow.verify(login.challenge.flow_id, login_code, ORIGIN)
    assert w.world.users.get("u-phone").phone_generation == 2  # type: ignore[union-attr]


def test_no_new_code_goes_to_the_old_number_once_it_changed(w: PhoneChangeWorld) -> None:
    # Given a login whose code went to the old number
    login = w.world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(login, SecondFactorRequired)
    change(w, "u-phone", NEW_PHONE)
    w.world.clock.advance(60)  # past the resend cooldown
    sent, counted = len(w.world.sender.outbox), dict(w.world.limits.counts)
    # When someone asks for a fresh code of it
    with pytest.raises(PhoneSuperseded):
        w.world.flow.resend(login.challenge.flow_id, ORIGIN)
    # Then none is sent, no send limit counted it, and the flow is over
    assert len(w.world.sender.outbox) == sent
    assert w.world.limits.counts == counted
    with pytest.raises(NoPendingVerification):
        w.world.flow.resend(login.challenge.flow_id, ORIGIN)


def test_a_resend_refused_by_the_flows_own_limits_never_asks_about_the_phone(
    w: PhoneChangeWorld,
) -> None:
    # Given a login whose code went to the old number, then the number changed
    login = w.world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(login, SecondFactorRequired)
    change(w, "u-phone", NEW_PHONE)
    # When a resend comes inside the cooldown
    with pytest.raises(ResendTooSoon):
        w.world.flow.resend(login.challenge.flow_id, ORIGIN)
    # Then it is refused for the cooldown, as before the change, and the flow still ends
    # at the next resend that gets past its own limits
    w.world.clock.advance(60)
    with pytest.raises(PhoneSuperseded):
        w.world.flow.resend(login.challenge.flow_id, ORIGIN)
