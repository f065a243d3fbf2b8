"""Password throttling at POST /login (NIST SP 800-63B 5.2.2), through LoginFlow with the
in-memory throttle, which applies the DynamoDB adapter's rules (PasswordThrottlePolicy)."""

from __future__ import annotations

import pytest

from phoneverify.domain.errors import AccountLocked, InvalidCredentials, LoginThrottled
from phoneverify.domain.models import RequestOrigin
from phoneverify.domain.throttling import PasswordThrottlePolicy, account_key
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.http.errors import error_body, error_headers, status_of
from tests.support.builders import ORIGIN, PASSWORD, LoginWorld, login_world

KNOWN = "demo@example.com"


@pytest.fixture
def world() -> LoginWorld:
    return login_world()


def fail(world: LoginWorld, email: str = KNOWN, origin: RequestOrigin = ORIGIN) -> str:
    """One wrong password; the answer's error code."""
    try:
        world.flow.start(email, "not the password", origin)
    except (InvalidCredentials, LoginThrottled) as exc:
        return exc.code
    raise AssertionError("a wrong password was accepted")


def test_five_wrong_passwords_then_the_sixth_attempt_waits(world: LoginWorld) -> None:
    # Given five wrong passwords
    answers = [fail(world) for _ in range(5)]
    # When the attacker tries again at once, even with the right password
    with pytest.raises(LoginThrottled) as throttled:
        world.flow.start(KNOWN, PASSWORD, ORIGIN)
    # Then
    assert answers == ["invalid_credentials"] * 5
    assert status_of(throttled.value) == 429
    assert throttled.value.retry_after == 30
    assert error_headers(throttled.value) == {"Retry-After": "30"}
    assert error_body(throttled.value)["code"] == "login_throttled"


def test_the_wait_doubles_with_each_further_failure_and_is_capped(world: LoginWorld) -> None:
    # Given five wrong passwords
    for _ in range(5):
        fail(world)
    waits = []
    for _ in range(8):
        # When the wait is over and the next guess is wrong too
        with pytest.raises(LoginThrottled) as throttled:
            world.flow.start(KNOWN, "not the password", ORIGIN)
        waits.append(throttled.value.retry_after)
        world.clock.advance(throttled.value.retry_after)
        assert fail(world) == "invalid_credentials"
    # Then the waits grow to minutes, never more than the cap
    assert waits == [30, 60, 120, 240, 480, 900, 900, 900]


def test_the_owner_gets_in_once_the_wait_is_over_and_the_count_starts_over(
    world: LoginWorld,
) -> None:
    # Given a throttled account
    for _ in range(5):
        fail(world)
    world.clock.advance(30)
    # When the owner signs in with the right password
    assert isinstance(world.flow.start(KNOWN, PASSWORD, ORIGIN), SecondFactorRequired)
    # Then five more mistakes are free again
    assert [fail(world) for _ in range(5)] == ["invalid_credentials"] * 5
    assert fail(world) == "login_throttled"


def test_failures_are_forgotten_a_day_after_the_last(world: LoginWorld) -> None:
    # Given four wrong passwords
    for _ in range(4):
        fail(world)
    # When a day passes
    world.clock.advance(86_400)
    # Then five more are free
    assert [fail(world) for _ in range(5)] == ["invalid_credentials"] * 5
    assert fail(world) == "login_throttled"


def test_an_unknown_email_is_throttled_exactly_like_a_known_one(world: LoginWorld) -> None:
    # When an attacker probes a known and an unknown email the same way
    known = [fail(world, KNOWN) for _ in range(7)]
    unknown = [fail(world, "nobody@example.com") for _ in range(7)]
    # Then the answers cannot tell them apart
    assert known == unknown == ["invalid_credentials"] * 5 + ["login_throttled"] * 2


def test_one_source_address_is_capped_across_accounts(world: LoginWorld) -> None:
    # Given a credential-stuffing run from one address, one guess per account
    world.throttle.policy = PasswordThrottlePolicy(per_source=10)
    stuffing = [fail(world, f"victim{i}@example.com") for i in range(10)]
    # When it goes on with another account, and a second address tries too
    blocked = fail(world, "victim99@example.com")
    elsewhere = fail(world, "victim99@example.com", RequestOrigin("198.51.100.20", "curl"))
    # Then
    assert stuffing == ["invalid_credentials"] * 10
    assert blocked == "login_throttled"
    assert elsewhere == "invalid_credentials"


def test_a_guess_the_source_cap_refuses_counts_nothing_against_the_account(
    world: LoginWorld,
) -> None:
    # Given an address at its cap, and an account with four free failures spent
    world.throttle.policy = PasswordThrottlePolicy(per_source=4)
    other = RequestOrigin("198.51.100.20", "curl")
    for _ in range(4):
        fail(world)
    # When it guesses once more, refused at its cap (until its window ends)
    with pytest.raises(LoginThrottled) as refused:
        world.flow.start(KNOWN, "not the password", ORIGIN)
    assert refused.value.retry_after == 3_600
    # Then that guess cost the account nothing: its fifth failure is still free elsewhere
    assert fail(world, KNOWN, other) == "invalid_credentials"
    assert fail(world, KNOWN, other) == "login_throttled"


def test_a_guess_the_account_wait_refuses_counts_nothing_against_the_source(
    world: LoginWorld,
) -> None:
    # Given an address allowed six failures, five spent on one account (which now waits)
    world.throttle.policy = PasswordThrottlePolicy(per_source=6)
    for _ in range(5):
        fail(world)
    # When it guesses that account again during the wait
    with pytest.raises(LoginThrottled) as refused:
        world.flow.start(KNOWN, "not the password", ORIGIN)
    assert refused.value.retry_after == 30
    # Then that guess cost the address nothing: it still has its sixth failure
    assert fail(world, "plain@example.com") == "invalid_credentials"
    assert fail(world, "nobody@example.com") == "login_throttled"


def test_right_passwords_do_not_use_up_the_source_cap(world: LoginWorld) -> None:
    # Given an office behind one address where many people sign in
    world.throttle.policy = PasswordThrottlePolicy(per_source=3)
    for _ in range(10):
        world.flow.start("plain@example.com", PASSWORD, ORIGIN)
    # Then its wrong passwords are still counted from zero
    assert [fail(world, "plain@example.com") for _ in range(3)] == ["invalid_credentials"] * 3


def test_every_password_decision_is_an_event_without_the_password(world: LoginWorld) -> None:
    # When
    fail(world, KNOWN)
    fail(world, "nobody@example.com")
    world.flow.start("plain@example.com", PASSWORD, ORIGIN)
    for _ in range(5):
        fail(world, KNOWN)
    # Then
    events = world.events.events
    assert [e.type.value for e in events[:3]] == [
        "password_rejected",
        "password_rejected",
        "password_accepted",
    ]
    assert events[0].subject == "u-phone"
    assert events[1].subject == f"email#{account_key('nobody@example.com')}"
    assert events[2].subject == "u-plain"
    assert events[-1].type.value == "login_throttled"
    assert events[-1].subject == "u-phone"  # under the account, as its failures are
    assert all(e.origin == ORIGIN for e in events)
    assert "not the password" not in repr(events)
    assert PASSWORD not in repr(events)


def test_a_locked_account_is_told_to_reset_its_password(world: LoginWorld) -> None:
    # Given an account locked by wrong codes
    for _ in range(world.failures.max_failures):
        world.failures.reserve("u-phone")
    # When its owner signs in with the right password
    with pytest.raises(AccountLocked) as locked:
        world.flow.start(KNOWN, PASSWORD, ORIGIN)
    # Then
    assert status_of(locked.value) == 429
    assert "Reset your password" in locked.value.message
    assert world.events.types[-1] == "login_locked"
    assert world.sender.outbox == []
