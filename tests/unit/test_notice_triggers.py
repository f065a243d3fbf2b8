"""Which changes to an account send its owner a notice (docs/phone-lifecycle.md#notices): a
password reset, a logout of every session, the lock after the wrong-code cap; to the account's
own number, once, and only once the change has happened."""

from __future__ import annotations

import pytest

from phoneverify.domain.errors import AccountLocked, InvalidCode
from phoneverify.domain.models import NoticeEvent
from phoneverify.domain.tokens import AccessToken
from phoneverify.flows.login import SecondFactorRequired
from tests.support.builders import (
    ORIGIN,
    PASSWORD,
    PHONE,
    LoginWorld,
    login_world,
    password_reset_world,
)

NEW_PASSWORD = "a brand new passphrase for this account"


def sign_in(world: LoginWorld, email: str = "demo@example.com") -> str:
    started = world.flow.start(email, PASSWORD, ORIGIN)
    if isinstance(started, AccessToken):
        return started.token
    return world.flow.verify(started.challenge.flow_id, world.sender.last_code(PHONE), ORIGIN).token


def test_a_password_reset_tells_the_accounts_phone() -> None:
    world, flow = password_reset_world()
    started = flow.start("demo@example.com", ORIGIN)
    assert world.notices.sent == []  # asking for a reset changes nothing yet
    flow.verify(started.flow_id, world.sender.last_code(PHONE), NEW_PASSWORD, ORIGIN)
    assert world.notices.sent == [(PHONE, NoticeEvent.PASSWORD_RESET)]


def test_a_reset_that_fails_sends_no_notice() -> None:
    world, flow = password_reset_world()
    started = flow.start("demo@example.com", ORIGIN)
    with pytest.raises(InvalidCode):
        flow.verify(started.flow_id, world.sender.wrong_code(PHONE), NEW_PASSWORD, ORIGIN)
    assert world.notices.sent == []


def test_a_reset_for_an_unknown_email_sends_nothing() -> None:
    world, flow = password_reset_world()
    flow.start("nobody@example.com", ORIGIN)
    assert world.notices.sent == [] and world.sender.outbox == []


def test_a_logout_of_every_session_tells_the_accounts_phone() -> None:
    world = login_world()
    claims = world.sessions.authenticate(sign_in(world), ORIGIN)
    world.sessions.logout(claims, everywhere=True, origin=ORIGIN)
    assert world.notices.sent == [(PHONE, NoticeEvent.LOGGED_OUT_EVERYWHERE)]


def test_a_logout_of_one_session_sends_no_notice() -> None:
    world = login_world()
    claims = world.sessions.authenticate(sign_in(world), ORIGIN)
    world.sessions.logout(claims, everywhere=False, origin=ORIGIN)
    assert world.notices.sent == []


def test_an_account_without_a_phone_gets_no_notice() -> None:
    world = login_world()
    claims = world.sessions.authenticate(sign_in(world, "plain@example.com"), ORIGIN)
    world.sessions.logout(claims, everywhere=True, origin=ORIGIN)
    assert world.notices.sent == []


def test_the_wrong_code_that_locks_the_account_tells_its_phone_once() -> None:
    world = login_world()
    for _ in range(world.failures.max_failures - 2):
        world.failures.reserve("u-phone")
    started = world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(started, SecondFactorRequired)
    flow_id = started.challenge.flow_id
    # A wrong code short of the cap: no notice
    with pytest.raises(InvalidCode):
        world.flow.verify(flow_id, world.sender.wrong_code(PHONE), ORIGIN)
    assert world.notices.sent == []
    # The one that reaches it: one notice to the account's number
    with pytest.raises(AccountLocked):
        world.flow.verify(flow_id, world.sender.wrong_code(PHONE), ORIGIN)
    assert world.notices.sent == [(PHONE, NoticeEvent.ACCOUNT_LOCKED)]
    # Tries at the locked account send no more
    with pytest.raises(AccountLocked):
        world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert len(world.notices.sent) == 1
