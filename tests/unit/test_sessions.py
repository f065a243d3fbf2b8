"""Bearer tokens and logout, driven through Sessions and LoginFlow with in-memory adapters:
what a signed-in person, or someone holding their stolen token, would notice."""

from __future__ import annotations

import pytest

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.errors import (
    AccountLocked,
    NoPendingVerification,
    SessionsEnded,
    StorageUnavailable,
    TokenRefused,
)
from phoneverify.domain.models import FlowKind
from phoneverify.domain.tokens import AccessToken, TokenClaims
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.flows.sessions import FORGED_SUBJECT
from phoneverify.http.errors import error_body, status_of
from tests.support.answers import answer
from tests.support.builders import ORIGIN, PASSWORD, PHONE, LoginWorld, login_world


@pytest.fixture
def world() -> LoginWorld:
    return login_world()


def sign_in(world: LoginWorld, email: str = "demo@example.com") -> str:
    """A token of the account, through login (with the code from the SMS when it has a phone)."""
    started = world.flow.start(email, PASSWORD, ORIGIN)
    if isinstance(started, AccessToken):
        return started.token
    return world.flow.verify(started.challenge.flow_id, world.sender.last_code(PHONE), ORIGIN).token


def authenticate(world: LoginWorld, token: str) -> TokenClaims:
    return world.sessions.authenticate(token, ORIGIN)


def refusal_reason(world: LoginWorld, token: str) -> str:
    with pytest.raises(TokenRefused) as refused:
        authenticate(world, token)
    assert status_of(refused.value) == 401 and error_body(refused.value)["code"] == "unauthorized"
    assert "reason" not in error_body(refused.value)  # the client learns nothing more
    return refused.value.reason


def test_a_fresh_token_is_accepted_as_its_account(world: LoginWorld) -> None:
    token = sign_in(world)
    assert authenticate(world, token).subject == "u-phone"


def test_after_logout_the_token_is_refused_and_other_sessions_live_on(world: LoginWorld) -> None:
    # Given two sessions of one account
    laptop, phone = sign_in(world), sign_in(world)
    # When the laptop logs out
    logged_out = world.sessions.logout(authenticate(world, laptop), False, ORIGIN)
    # Then
    assert answer(logged_out) == {"logged_out": True}
    assert refusal_reason(world, laptop) == "token_ended"
    assert authenticate(world, phone).subject == "u-phone"


def test_logout_everywhere_ends_every_token_of_the_account_only(world: LoginWorld) -> None:
    # Given two sessions of one account, and one of another
    laptop, phone = sign_in(world), sign_in(world)
    stranger = sign_in(world, "plain@example.com")
    # When the laptop logs out everywhere
    world.sessions.logout(authenticate(world, laptop), True, ORIGIN)
    # Then both sessions of the account are over, the other account's is not
    assert refusal_reason(world, laptop) == "all_tokens_ended"
    assert refusal_reason(world, phone) == "all_tokens_ended"
    assert authenticate(world, stranger).subject == "u-plain"
    # and signing in again gives a token that works
    assert authenticate(world, sign_in(world)).subject == "u-phone"
    assert authenticate(world, sign_in(world, "plain@example.com")).subject == "u-plain"


def test_an_account_without_phone_signs_in_again_after_logout_everywhere(
    world: LoginWorld,
) -> None:
    token = sign_in(world, "plain@example.com")
    world.sessions.logout(authenticate(world, token), True, ORIGIN)
    assert authenticate(world, sign_in(world, "plain@example.com")).subject == "u-plain"


def test_a_login_pending_its_code_during_logout_everywhere_ends_without_a_token(
    world: LoginWorld,
) -> None:
    # Given an attacker who knows the password started a login (the code is on its way)
    started = world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(started, SecondFactorRequired)
    code = world.sender.last_code(PHONE)
    # When the owner logs out everywhere before that code is used
    world.sessions.logout(authenticate(world, sign_in(world)), True, ORIGIN)
    # Then the right code issues no token: the login is over, and says so (400, start again)
    with pytest.raises(SessionsEnded) as ended:
        world.flow.verify(started.challenge.flow_id, code, ORIGIN)
    assert status_of(ended.value) == 400
    assert error_body(ended.value) == {
        "error": "Every session of this account was ended since this code was sent. "
        "Start login again.",
        "code": "no_pending_verification",
    }
    # and the flow is ended for good, a resend included
    with pytest.raises(NoPendingVerification):
        world.flow.resend(started.challenge.flow_id, ORIGIN)


def test_a_login_resent_after_logout_everywhere_gets_no_code(world: LoginWorld) -> None:
    started = world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(started, SecondFactorRequired)
    world.sessions.logout(authenticate(world, sign_in(world)), True, ORIGIN)
    sent = len(world.sender.outbox)
    world.clock.advance(31)
    with pytest.raises(SessionsEnded):
        world.flow.resend(started.challenge.flow_id, ORIGIN)
    assert len(world.sender.outbox) == sent


def test_a_token_of_an_account_that_no_longer_exists_is_refused(world: LoginWorld) -> None:
    token = world.tokens.issue_access_token("u-deleted", 0).token
    assert refusal_reason(world, token) == "account_gone"


def test_a_logged_out_token_lives_in_the_store_only_until_it_expires(world: LoginWorld) -> None:
    # Given a logged-out token
    token = sign_in(world)
    claims = authenticate(world, token)
    world.sessions.logout(claims, False, ORIGIN)
    # Then its record expires with it (TTL), and once expired it is refused for that reason
    assert world.revocations.ended[claims.jti] == claims.expires_at
    world.clock.advance(3600)
    assert refusal_reason(world, token) == "expired"


def test_logout_and_refusals_are_audited_without_phone_or_token(world: LoginWorld) -> None:
    # Given
    token = sign_in(world)
    world.events.events.clear()
    # When the person logs out everywhere, and the token is presented again
    world.sessions.logout(authenticate(world, token), True, ORIGIN)
    refusal_reason(world, token)
    # Then
    logged_out, refused = world.events.events
    assert (logged_out.type, logged_out.kind) == (
        VerificationEventType.LOGGED_OUT,
        FlowKind.SESSION,
    )
    assert (logged_out.subject, logged_out.masked_phone) == ("u-phone", "")
    assert logged_out.detail == {"all": True}
    assert refused.type == VerificationEventType.TOKEN_REFUSED
    assert (refused.subject, refused.detail) == ("u-phone", {"reason": "all_tokens_ended"})
    assert refused.origin == ORIGIN
    assert all(token not in str(event) for event in world.events.events)


def test_a_single_logout_is_audited_as_such(world: LoginWorld) -> None:
    token = sign_in(world)
    world.sessions.logout(authenticate(world, token), False, ORIGIN)
    assert world.events.events[-1].detail == {"all": False}


def test_a_forged_token_is_refused_and_audited_under_nobody(world: LoginWorld) -> None:
    # Given a token whose signature does not hold
    header, payload, _ = sign_in(world).split(".")
    forged = f"{header}.{payload}.AAAA"
    world.events.events.clear()
    # When / Then
    assert refusal_reason(world, forged) == "malformed"
    # audited, but not under its `sub`: it would name an account it cannot speak for
    (event,) = world.events.events
    assert (event.type, event.subject) == (VerificationEventType.TOKEN_REFUSED, FORGED_SUBJECT)
    assert event.detail == {"reason": "malformed"}
    assert event.origin == ORIGIN
    assert world.revocations.checks == 0  # and no read was spent on it


def test_when_the_check_cannot_be_made_the_answer_is_unavailable_not_a_guess(
    world: LoginWorld,
) -> None:
    token = sign_in(world)
    world.revocations.unavailable = 1
    with pytest.raises(StorageUnavailable):
        authenticate(world, token)
    assert authenticate(world, token).subject == "u-phone"  # once DynamoDB answers again


def test_each_check_costs_one_read(world: LoginWorld) -> None:
    token = sign_in(world)
    authenticate(world, token)
    authenticate(world, token)
    assert world.revocations.checks == 2


@pytest.mark.parametrize("email", ["demo@example.com", "plain@example.com"])
def test_login_issues_under_the_accounts_current_generation(world: LoginWorld, email: str) -> None:
    # Given an account whose tokens were all ended three times
    user = world.users.find_by_email(email)
    assert user is not None
    for _ in range(3):
        world.revocations.end_all_tokens(user.user_id)
    # When it signs in (with or without a code)
    claims = authenticate(world, sign_in(world, email))
    # Then its token carries the generation that makes it live
    assert claims.generation == 3


def test_the_account_lock_ends_every_token_of_the_account(world: LoginWorld) -> None:
    # Given an attacker holding a token, 99 wrong codes away from the account's lock
    stolen = sign_in(world)
    for _ in range(world.failures.max_failures - 1):
        world.failures.reserve("u-phone")
    started = world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(started, SecondFactorRequired)
    # When the hundredth wrong code locks the account
    with pytest.raises(AccountLocked):
        world.flow.verify(started.challenge.flow_id, world.sender.wrong_code(PHONE), ORIGIN)
    # Then the token stops working too
    assert refusal_reason(world, stolen) == "all_tokens_ended"
