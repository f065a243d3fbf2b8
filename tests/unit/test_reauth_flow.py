"""Fresh authentication (docs/sessions.md#fresh-authentication): the step-up through ReauthFlow,
its reauth token checked by StepUp, and the phone change that asks for it, with in-memory
adapters and an injected clock."""

from __future__ import annotations

import jwt
import pytest

from phoneverify.domain.errors import (
    AccountLocked,
    InvalidCredentials,
    InvalidRequest,
    LoginThrottled,
    NoPendingVerification,
    NotAuthenticated,
    ReauthRequired,
    SessionsEnded,
    TokenRefused,
)
from phoneverify.domain.models import FlowKind, NoticeEvent
from phoneverify.domain.tiers import TIER_OF_KIND, SendTier
from phoneverify.domain.tokens import InvalidToken
from phoneverify.flows.engine.step_up import Caller
from phoneverify.flows.reauth import ReauthChallenge, ReauthGranted
from tests.support.builders import (
    AUDIENCE,
    ISSUER,
    ORIGIN,
    PASSWORD,
    PHONE,
    SIGNING_SECRET,
    PhoneChangeWorld,
    phone_change_world,
)

NEW_PHONE = "+13125550177"


@pytest.fixture
def w() -> PhoneChangeWorld:
    return phone_change_world()


def stepped_up(w: PhoneChangeWorld, user_id: str = "u-phone", session: str = "s-1") -> str:
    """A reauth token through /account/reauth: the password, then the code to the phone."""
    started = w.reauth.start(Caller(user_id, session), PASSWORD, ORIGIN)
    assert isinstance(started, ReauthChallenge)
    code = w.world.sender.last_code(PHONE)
    granted = w.reauth.verify(Caller(user_id, session), started.challenge.flow_id, code, ORIGIN)
    return granted.token.token


def test_the_step_up_asks_the_password_then_the_phone_and_grants_a_five_minute_token(
    w: PhoneChangeWorld,
) -> None:
    # When
    started = w.reauth.start(Caller("u-phone", "s-1"), PASSWORD, ORIGIN)
    # Then a code went to the account's phone, counted as a signed-in person's
    assert isinstance(started, ReauthChallenge)
    assert started.factors == ("sms",)
    assert started.challenge.phone_hint == "+1******0123"
    assert w.world.sender.outbox[-1][0] == PHONE
    assert TIER_OF_KIND[FlowKind.REAUTH] is SendTier.VERIFIED
    # When the code comes back
    code = w.world.sender.last_code(PHONE)
    granted = w.reauth.verify(Caller("u-phone", "s-1"), started.challenge.flow_id, code, ORIGIN)
    # Then a reauth token of the account and session, for 300 s
    assert granted.token.expires_in == 300
    claims = w.reauth_tokens.verify(granted.token.token)
    assert (claims.subject, claims.session, claims.generation) == ("u-phone", "s-1", 0)
    assert [e for e in w.world.events.types if e != "resent"][-4:] == [
        "password_accepted",
        "sent",
        "accepted",
        "reauth_granted",
    ]


def test_an_account_without_a_phone_gets_the_token_from_start(w: PhoneChangeWorld) -> None:
    started = w.reauth.start(Caller("u-plain", "s-9"), PASSWORD, ORIGIN)
    assert isinstance(started, ReauthGranted)
    assert started.factors == ()
    assert w.reauth_tokens.verify(started.token.token).session == "s-9"
    assert w.world.sender.outbox == []


def test_a_wrong_password_is_refused_and_throttled_as_at_login(w: PhoneChangeWorld) -> None:
    for _ in range(5):
        with pytest.raises(InvalidCredentials) as refused:
            w.reauth.start(Caller("u-phone", "s-1"), "a guess", ORIGIN)
        assert refused.value.extra == {"field": "password"}
    with pytest.raises(LoginThrottled):
        w.reauth.start(Caller("u-phone", "s-1"), PASSWORD, ORIGIN)
    with pytest.raises(LoginThrottled):
        w.world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert w.world.sender.outbox == []
    with pytest.raises(InvalidRequest):
        w.reauth.start(Caller("u-phone", "s-1"), "", ORIGIN)


def test_no_session_or_no_account_is_not_authenticated(w: PhoneChangeWorld) -> None:
    with pytest.raises(NotAuthenticated):
        w.reauth.start(Caller("u-phone", None), PASSWORD, ORIGIN)
    with pytest.raises(NotAuthenticated):
        w.reauth.start(Caller("u-gone", "s-1"), PASSWORD, ORIGIN)


def test_another_accounts_flow_is_no_flow_of_theirs(w: PhoneChangeWorld) -> None:
    started = w.reauth.start(Caller("u-phone", "s-1"), PASSWORD, ORIGIN)
    assert isinstance(started, ReauthChallenge)
    code = w.world.sender.last_code(PHONE)
    with pytest.raises(NoPendingVerification):
        w.reauth.verify(Caller("u-plain", "s-2"), started.challenge.flow_id, code, ORIGIN)
    with pytest.raises(NoPendingVerification):
        w.reauth.resend(Caller("u-plain", "s-2"), started.challenge.flow_id, ORIGIN)


def test_a_logout_of_every_session_before_the_code_ends_the_step_up(w: PhoneChangeWorld) -> None:
    started = w.reauth.start(Caller("u-phone", "s-1"), PASSWORD, ORIGIN)
    assert isinstance(started, ReauthChallenge)
    code = w.world.sender.last_code(PHONE)
    w.world.revocations.end_all_tokens("u-phone")
    with pytest.raises(SessionsEnded):
        w.reauth.verify(Caller("u-phone", "s-1"), started.challenge.flow_id, code, ORIGIN)


# -- the token: one account, one session, five minutes, one token generation ------------------
def require(w: PhoneChangeWorld, caller: Caller, user_id: str = "u-phone") -> None:
    user = w.world.users.get(user_id)
    assert user is not None
    w.step_up.require(caller, user, ORIGIN, action="test")


def test_the_token_passes_for_its_account_and_session_more_than_once(w: PhoneChangeWorld) -> None:
    token = stepped_up(w)
    require(w, Caller("u-phone", "s-1", token))
    require(w, Caller("u-phone", "s-1", token))
    assert w.world.events.types.count("reauth_used") == 2


@pytest.mark.parametrize(
    ("caller", "reason"),
    [
        (Caller("u-phone", "s-1", None), "missing"),
        (Caller("u-phone", "s-2", "TOKEN"), "other_session"),
        (Caller("u-phone", None, "TOKEN"), "other_session"),
        (Caller("u-plain", "s-1", "TOKEN"), "other_account"),
        (Caller("u-phone", "s-1", "not.a.token"), "malformed"),
    ],
)
def test_a_missing_or_misplaced_token_is_refused_and_audited(
    w: PhoneChangeWorld, caller: Caller, reason: str
) -> None:
    token = stepped_up(w)
    used = Caller(
        caller.user_id, caller.session, (caller.reauth_token or "").replace("TOKEN", token) or None
    )
    with pytest.raises(ReauthRequired) as refused:
        require(w, used, "u-plain" if caller.user_id == "u-plain" else "u-phone")
    assert refused.value.code == "reauth_required"
    assert w.world.events.events[-1].detail == {"reason": reason, "action": "test"}


def test_the_token_expires_after_five_minutes(w: PhoneChangeWorld) -> None:
    token = stepped_up(w)
    w.world.clock.advance(299)
    require(w, Caller("u-phone", "s-1", token))
    w.world.clock.advance(1)
    with pytest.raises(ReauthRequired):
        require(w, Caller("u-phone", "s-1", token))
    assert w.world.events.events[-1].detail["reason"] == "expired"


def test_a_logout_of_every_session_or_a_password_reset_ends_the_token(w: PhoneChangeWorld) -> None:
    token = stepped_up(w)
    w.world.revocations.end_all_tokens("u-phone")
    with pytest.raises(ReauthRequired):
        require(w, Caller("u-phone", "s-1", token))
    assert w.world.events.events[-1].detail["reason"] == "all_tokens_ended"


def test_an_access_token_never_passes_as_a_reauth_token_nor_the_reverse(
    w: PhoneChangeWorld,
) -> None:
    access = w.world.tokens.issue_access_token("u-phone", 0).token
    with pytest.raises(ReauthRequired):
        require(w, Caller("u-phone", w.world.tokens.verify(access).jti, access))
    reauth = stepped_up(w)
    with pytest.raises(InvalidToken):
        w.world.tokens.verify(reauth)
    with pytest.raises(TokenRefused):
        w.world.sessions.authenticate(reauth, ORIGIN)
    # nor one signed with our secret and the reauth audience, but no purpose claim
    claims = jwt.decode(reauth, options={"verify_signature": False})
    del claims["purpose"]
    forged = jwt.encode(claims, SIGNING_SECRET, algorithm="HS256")
    with pytest.raises(ReauthRequired):
        require(w, Caller("u-phone", "s-1", forged))
    assert (claims["iss"], claims["aud"]) == (ISSUER, AUDIENCE + ":reauth")


# -- the phone change asks for it ---------------------------------------------------------------
def test_a_token_and_the_password_alone_cannot_change_a_phone_that_exists(
    w: PhoneChangeWorld,
) -> None:
    with pytest.raises(ReauthRequired):
        w.flow.start(Caller("u-phone", "s-1"), NEW_PHONE, PASSWORD, ORIGIN)
    assert w.world.sender.outbox == []
    assert w.world.events.events[-1].detail == {"reason": "missing", "action": "phone_change"}


def test_with_the_step_up_the_change_ends_every_session_and_answers_a_fresh_token(
    w: PhoneChangeWorld,
) -> None:
    # Given two sessions of the account, one of which steps up
    own = w.world.tokens.issue_access_token("u-phone", 0).token
    other = w.world.tokens.issue_access_token("u-phone", 0).token
    session = w.world.tokens.verify(own).jti
    token = stepped_up(w, session=session)
    # When it changes the phone
    started = w.flow.start(Caller("u-phone", session, token), NEW_PHONE, None, ORIGIN)
    code = w.world.sender.last_code(NEW_PHONE)
    changed = w.flow.verify("u-phone", started.flow_id, code, ORIGIN)
    # Then both old tokens and the reauth token are ended; the fresh one works
    for ended in (own, other):
        with pytest.raises(TokenRefused):
            w.world.sessions.authenticate(ended, ORIGIN)
    assert w.world.sessions.authenticate(changed.token.token, ORIGIN).subject == "u-phone"
    with pytest.raises(ReauthRequired):
        require(w, Caller("u-phone", session, token))
    assert w.notices.sent == [(PHONE, NoticeEvent.PHONE_CHANGED)]
    assert w.world.users.get("u-phone").token_generation == 1  # type: ignore[union-attr]


def test_an_account_without_a_phone_may_use_the_step_up_token_too(w: PhoneChangeWorld) -> None:
    granted = w.reauth.start(Caller("u-plain", "s-1"), PASSWORD, ORIGIN)
    assert isinstance(granted, ReauthGranted)
    started = w.flow.start(Caller("u-plain", "s-1", granted.token.token), NEW_PHONE, None, ORIGIN)
    assert started.phone_hint == "+1******0177"
    # and without either, it is told which field is missing
    with pytest.raises(InvalidRequest) as refused:
        w.flow.start(Caller("u-plain", "s-1"), NEW_PHONE, None, ORIGIN)
    assert refused.value.extra == {"field": "password"}


def test_a_logout_everywhere_between_start_and_verify_ends_the_change(
    w: PhoneChangeWorld,
) -> None:
    started = w.flow.start(w.caller("u-phone"), NEW_PHONE, None, ORIGIN)
    code = w.world.sender.last_code(NEW_PHONE)
    w.world.revocations.end_all_tokens("u-phone")
    with pytest.raises(SessionsEnded):
        w.flow.verify("u-phone", started.flow_id, code, ORIGIN)
    assert w.world.users.get("u-phone").phone_number == PHONE  # type: ignore[union-attr]


def test_the_wrong_step_up_code_that_locks_the_account_tells_its_phone(
    w: PhoneChangeWorld,
) -> None:
    # Given an account one wrong code short of its lock, mid step-up (a stolen session)
    failures = w.world.failures
    for _ in range(failures.max_failures - 1):
        failures.reserve("u-phone")
    started = w.reauth.start(Caller("u-phone", "s-1"), PASSWORD, ORIGIN)
    assert isinstance(started, ReauthChallenge)
    # When the wrong code that reaches the cap is entered
    with pytest.raises(AccountLocked):
        w.reauth.verify(
            Caller("u-phone", "s-1"),
            started.challenge.flow_id,
            w.world.sender.wrong_code(PHONE),
            ORIGIN,
        )
    # Then the owner's phone hears of the lock, as after a login's or a payment's
    assert w.world.notices.sent == [(PHONE, NoticeEvent.ACCOUNT_LOCKED)]
