"""A lost factor (docs/factors.md#recovery-codes): a login completed by a recovery code is a
fresh authentication (the password and a one-time code just proven), so its answer carries a
reauth token bound to the new session, and the person whose only stronger factor is lost can
remove it at once. The token is that session's alone; a recovery code still signs in once;
a payment never takes one."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from phoneverify.domain.errors import InvalidCode, ReauthRequired
from phoneverify.domain.factors import FactorKind, enrolled_factors
from phoneverify.flows.engine.step_up import Caller
from phoneverify.flows.login import SecondFactorRequired, SignedIn
from phoneverify.http.factor_requests import PaymentConfirmRequest
from phoneverify.http.factor_responses import login_verified_response
from tests.support.builders import ORIGIN, PASSWORD
from tests.support.factors import FactorWorld, factor_world
from tests.unit.test_totp import code_now, enrolled

EMAIL = "plain@example.com"  # u-plain: no phone


@pytest.fixture
def f() -> FactorWorld:
    return factor_world()


def login(f: FactorWorld) -> str:
    result = f.login.start(EMAIL, PASSWORD, ORIGIN)
    assert isinstance(result, SecondFactorRequired)
    return result.challenge.flow_id


def by_recovery_code(f: FactorWorld, code: str) -> SignedIn:
    signed_in = f.login.verify(login(f), None, ORIGIN, recovery_code=code)
    assert signed_in.reauth is not None
    return signed_in


def test_an_app_only_account_that_lost_its_app_removes_it_after_a_recovery_code(
    f: FactorWorld,
) -> None:
    _, codes = enrolled(f, "u-plain")
    # The app is lost: no app code, no phone. Before this change the login gave no reauth
    # token and the step-up asked for the lost app: the app could never be removed.
    signed_in = by_recovery_code(f, codes[0])
    assert signed_in.reauth is not None
    caller = Caller("u-plain", signed_in.jti, signed_in.reauth.token)
    f.totp.remove(caller, ORIGIN)
    user = f.w.world.users.get("u-plain")
    assert user is not None and enrolled_factors(user) == ()
    assert "reauth_granted" in f.w.world.events.types
    answer = login_verified_response(signed_in).model_dump()
    assert answer["reauth_token"] == signed_in.reauth.token
    assert answer["reauth_expires_in"] == 300


def test_attack_the_reauth_token_is_bound_to_its_session(f: FactorWorld) -> None:
    _, codes = enrolled(f, "u-plain")
    signed_in = by_recovery_code(f, codes[0])
    assert signed_in.reauth is not None
    # another session's bearer (the same account) holding that reauth token
    with pytest.raises(ReauthRequired):
        f.totp.remove(Caller("u-plain", "another-session", signed_in.reauth.token), ORIGIN)
    # another account's bearer
    with pytest.raises(ReauthRequired):
        f.totp.remove(Caller("u-phone", signed_in.jti, signed_in.reauth.token), ORIGIN)
    assert f.factors.totp_secret("u-plain") is not None


def test_attack_the_recovery_code_still_works_once(f: FactorWorld) -> None:
    _, codes = enrolled(f, "u-plain")
    by_recovery_code(f, codes[0])
    with pytest.raises(InvalidCode):
        f.login.verify(login(f), None, ORIGIN, recovery_code=codes[0])


def test_another_second_step_gives_no_reauth_token(f: FactorWorld) -> None:
    secret, _ = enrolled(f, "u-plain")
    started = f.login.start(EMAIL, PASSWORD, ORIGIN)
    assert isinstance(started, SecondFactorRequired) and FactorKind.TOTP in started.factors
    signed_in = f.login.verify(
        started.challenge.flow_id, code_now(f, secret), ORIGIN, factor=FactorKind.TOTP
    )
    assert signed_in.reauth is None
    assert login_verified_response(signed_in).reauth_token is None


@pytest.mark.parametrize(
    "body",
    [
        {"recovery_code": "abcde-fghjk"},
        {"code": "123456", "recovery_code": "abcde-fghjk"},
        {"factor": "recovery", "code": "abcde-fghjk"},
    ],
)
def test_attack_a_payment_never_takes_a_recovery_code(body: dict[str, str]) -> None:
    payment = {"payment_id": "pay_" + "a" * 32}
    PaymentConfirmRequest.model_validate({**payment, "code": "123456"})  # a valid request
    with pytest.raises(ValidationError):
        PaymentConfirmRequest.model_validate({**payment, **body})
