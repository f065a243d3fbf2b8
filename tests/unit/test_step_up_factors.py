"""The step-up (/account/reauth) asks for the account's stronger factor (docs/sessions.md
#fresh-authentication): an account with an authenticator app or a passkey never gets a reauth
token from its password alone, so it cannot remove that factor with the password alone. The
attacks: a password-only step-up of an app-only or passkey-only account, an assertion made for
a login or another step-up, a replayed assertion, another user's credential."""

from __future__ import annotations

from dataclasses import replace
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from phoneverify.domain.errors import InvalidCode, InvalidRequest, TooManyAttempts
from phoneverify.domain.factor_errors import FactorNotEnrolled
from phoneverify.domain.factors import FactorKind
from phoneverify.domain.passkeys import PasskeyNotFound
from phoneverify.flows.engine.step_up import Caller
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.flows.reauth import ReauthChallenge, ReauthGranted
from tests.support.builders import ORIGIN, PASSWORD, PHONE, phone_change_world
from tests.support.factors import FactorWorld, factor_world


@pytest.fixture
def f() -> FactorWorld:
    return factor_world()


def with_app(f: FactorWorld, user_id: str) -> str:
    started = f.totp.start(f.w.caller(user_id), ORIGIN)
    secret = parse_qs(urlparse(started.otpauth_uri).query)["secret"][0]
    code = pyotp.TOTP(secret).at(f.w.world.clock.now())
    f.totp.verify(Caller(user_id, "s-1"), started.flow_id, code, ORIGIN)
    f.w.world.clock.advance(30)  # the next step: the first code's step is used
    return secret


def test_attack_an_app_only_account_gets_no_token_from_its_password() -> None:
    # Given an account with an app and no phone (as the start function reads it: no checks)
    w = phone_change_world()
    user = w.world.users.get("u-plain")
    assert user is not None
    w.world.users.replace(replace(user, totp_enrolled_at=1_000.0))
    # When the step-up starts with the right password
    started = w.reauth.start(Caller("u-plain", "s-1"), PASSWORD, ORIGIN)
    # Then no token: the app is asked for, and nothing is sent
    assert isinstance(started, ReauthChallenge)
    assert started.factors == ("totp",)
    assert w.world.sender.outbox == []


def test_attack_a_passkey_only_account_gets_no_token_from_its_password(f: FactorWorld) -> None:
    f.add_passkey("u-plain")
    started = f.reauth.start(Caller("u-plain", "s-1"), PASSWORD, ORIGIN)
    assert isinstance(started, ReauthChallenge)
    assert started.factors == ("passkey",)
    assert f.w.world.sender.outbox == []
    # and without the step-up's token the passkey stays
    held = f.passkeys.of_account("u-plain")[0].passkey_id
    with pytest.raises(Exception, match="reauth"):
        f.registry.remove(Caller("u-plain", "s-1"), held, ORIGIN)
    assert f.passkeys.of_account("u-plain")


def test_the_app_answers_the_step_up_and_then_removes_itself(f: FactorWorld) -> None:
    secret = with_app(f, "u-plain")
    started = f.reauth.start(Caller("u-plain", "s-1"), PASSWORD, ORIGIN)
    assert isinstance(started, ReauthChallenge)
    flow_id = started.challenge.flow_id
    with pytest.raises(InvalidCode):
        f.reauth.verify(Caller("u-plain", "s-1"), flow_id, "000000", ORIGIN, factor=FactorKind.TOTP)
    code = pyotp.TOTP(secret).at(f.w.world.clock.now())
    granted = f.reauth.verify(
        Caller("u-plain", "s-1"), flow_id, code, ORIGIN, factor=FactorKind.TOTP
    )
    assert granted.factors == ("totp",)
    f.totp.remove(Caller("u-plain", "s-1", granted.token.token), ORIGIN)
    with pytest.raises(FactorNotEnrolled):
        f.totp.remove(f.w.caller("u-plain"), ORIGIN)


def test_a_phone_and_app_account_is_sent_no_sms_until_it_asks(f: FactorWorld) -> None:
    with_app(f, "u-phone")
    before = len(f.w.world.sender.outbox)
    started = f.reauth.start(Caller("u-phone", "s-1"), PASSWORD, ORIGIN)
    assert isinstance(started, ReauthChallenge)
    assert started.factors == ("totp", "sms")
    assert len(f.w.world.sender.outbox) == before
    # When asked, the first SMS goes at once and answers the step-up
    f.reauth.resend(Caller("u-phone", "s-1"), started.challenge.flow_id, ORIGIN)
    code = f.w.world.sender.last_code(PHONE)
    granted = f.reauth.verify(Caller("u-phone", "s-1"), started.challenge.flow_id, code, ORIGIN)
    assert granted.factors == ("sms",)


def test_a_passkey_answers_the_step_up_once(f: FactorWorld) -> None:
    key = f.add_passkey("u-plain")
    started = f.reauth.start(Caller("u-plain", "s-1"), PASSWORD, ORIGIN)
    assert isinstance(started, ReauthChallenge)
    flow_id = started.challenge.flow_id
    options = f.reauth.passkey_options(Caller("u-plain", "s-1"), flow_id, ORIGIN)
    assert [c["id"] for c in options["allowCredentials"]] == [key.passkey_id]
    assertion = key.get(options)
    granted = f.reauth.verify(
        Caller("u-plain", "s-1"),
        flow_id,
        None,
        ORIGIN,
        factor=FactorKind.PASSKEY,
        credential=assertion,
    )
    assert granted.factors == ("passkey",)
    # Then the step-up's token removes the passkey
    f.registry.remove(Caller("u-plain", "s-1", granted.token.token), key.passkey_id, ORIGIN)
    with pytest.raises(PasskeyNotFound):
        f.registry.remove(f.w.caller("u-plain"), key.passkey_id, ORIGIN)


def test_attack_a_replayed_or_misdirected_assertion_is_a_wrong_code(f: FactorWorld) -> None:
    key = f.add_passkey("u-plain")
    caller = Caller("u-plain", "s-1")
    # An assertion made for a login of the account does not answer a step-up
    login = f.login.start("plain@example.com", PASSWORD, ORIGIN)
    assert isinstance(login, SecondFactorRequired)
    login_assertion = key.get(f.login.passkey_options(login.challenge.flow_id, ORIGIN))
    started = f.reauth.start(caller, PASSWORD, ORIGIN)
    assert isinstance(started, ReauthChallenge)
    flow_id = started.challenge.flow_id
    with pytest.raises(InvalidCode):
        f.reauth.verify(
            caller, flow_id, None, ORIGIN, factor=FactorKind.PASSKEY, credential=login_assertion
        )
    # Nor one made for another step-up of the same account
    other = f.reauth.start(caller, PASSWORD, ORIGIN)
    assert isinstance(other, ReauthChallenge)
    other_assertion = key.get(f.reauth.passkey_options(caller, other.challenge.flow_id, ORIGIN))
    with pytest.raises(InvalidCode):
        f.reauth.verify(
            caller, flow_id, None, ORIGIN, factor=FactorKind.PASSKEY, credential=other_assertion
        )
    # Another user's credential, over this flow's own options, is refused too
    stranger = f.add_passkey("u-phone")
    options = f.reauth.passkey_options(caller, flow_id, ORIGIN)
    with pytest.raises(InvalidCode):
        f.reauth.verify(
            caller,
            flow_id,
            None,
            ORIGIN,
            factor=FactorKind.PASSKEY,
            credential=stranger.get(options),
        )
    # The right one is accepted once; replayed, it finds its challenge spent
    assertion = key.get(options)
    f.reauth.verify(caller, flow_id, None, ORIGIN, factor=FactorKind.PASSKEY, credential=assertion)
    again = f.reauth.start(caller, PASSWORD, ORIGIN)
    assert isinstance(again, ReauthChallenge)
    with pytest.raises(InvalidCode):
        f.reauth.verify(
            caller,
            again.challenge.flow_id,
            None,
            ORIGIN,
            factor=FactorKind.PASSKEY,
            credential=assertion,
        )


def test_wrong_assertions_spend_the_flows_attempts(f: FactorWorld) -> None:
    key = f.add_passkey("u-plain")
    caller = Caller("u-plain", "s-1")
    started = f.reauth.start(caller, PASSWORD, ORIGIN)
    assert isinstance(started, ReauthChallenge)
    flow_id = started.challenge.flow_id
    forged = key.get({"challenge": "AAAA"}, challenge=b"not-the-challenge-we-kept!!")
    for _ in range(5):
        with pytest.raises((InvalidCode, TooManyAttempts)):
            f.reauth.verify(
                caller, flow_id, None, ORIGIN, factor=FactorKind.PASSKEY, credential=forged
            )
    # Then the flow is spent: no more options for it
    with pytest.raises(TooManyAttempts):
        f.reauth.passkey_options(caller, flow_id, ORIGIN)
    # and a passkey answer without its credential is a 400
    with pytest.raises(InvalidRequest):
        f.reauth.verify(caller, flow_id, None, ORIGIN, factor=FactorKind.PASSKEY)


def test_an_account_with_no_second_factor_still_gets_the_token_from_start(
    f: FactorWorld,
) -> None:
    started = f.reauth.start(Caller("u-plain", "s-1"), PASSWORD, ORIGIN)
    assert isinstance(started, ReauthGranted)
