"""The authenticator app (docs/factors.md#authenticator-app): enrolled behind the step-up,
confirmed by a first code, its codes accepted once per time step at login, with SMS still
possible; removed behind the step-up with a notice. In-memory adapters, an injected clock."""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from phoneverify.domain.errors import InvalidCode, NoPendingVerification, ReauthRequired
from phoneverify.domain.factor_errors import FactorAlreadyEnrolled, FactorNotEnrolled
from phoneverify.domain.factors import FactorKind, enrolled_factors
from phoneverify.domain.models import NoticeEvent
from phoneverify.domain.tokens import AccessToken
from phoneverify.flows.engine.step_up import Caller
from phoneverify.flows.login import SecondFactorRequired
from tests.support.builders import ORIGIN, PASSWORD, PHONE
from tests.support.factors import FactorWorld, factor_world

EMAIL = "demo@example.com"


@pytest.fixture
def f() -> FactorWorld:
    return factor_world()


def code_now(f: FactorWorld, secret: str, offset_steps: int = 0) -> str:
    return pyotp.TOTP(secret).at(f.w.world.clock.now() + 30 * offset_steps)


def enrolled(f: FactorWorld, user_id: str = "u-phone") -> tuple[str, tuple[str, ...]]:
    """The app's secret and the recovery codes, after a full enrolment."""
    started = f.totp.start(f.w.caller(user_id), ORIGIN)
    secret = parse_qs(urlparse(started.otpauth_uri).query)["secret"][0]
    done = f.totp.verify(Caller(user_id, "s-1"), started.flow_id, code_now(f, secret), ORIGIN)
    f.w.world.clock.advance(30)  # the next step: the first code's step is used
    return secret, done.recovery_codes


def login_flow_id(f: FactorWorld) -> SecondFactorRequired:
    result = f.login.start(EMAIL, PASSWORD, ORIGIN)
    assert isinstance(result, SecondFactorRequired)
    return result


def test_enrolment_shows_the_secret_once_keeps_it_encrypted_and_gives_ten_recovery_codes(
    f: FactorWorld,
) -> None:
    # When
    started = f.totp.start(f.w.caller("u-phone"), ORIGIN)
    # Then the URI names the issuer and the account, and the secret is 160 bits
    uri = urlparse(started.otpauth_uri)
    assert uri.scheme == "otpauth" and uri.netloc == "totp"
    secret = parse_qs(uri.query)["secret"][0]
    assert len(secret) == 32
    # and nowhere in the pending flow in clear
    stored = [str(r.data) for r in f.w.world.store.items.values()]
    assert stored and not any(secret in each for each in stored)
    # When the first code comes back
    done = f.totp.verify(Caller("u-phone", "s-1"), started.flow_id, code_now(f, secret), ORIGIN)
    # Then
    assert len(done.recovery_codes) == 10 and len(set(done.recovery_codes)) == 10
    user = f.w.world.users.get("u-phone")
    assert user is not None
    assert enrolled_factors(user) == (FactorKind.TOTP, FactorKind.SMS, FactorKind.RECOVERY)
    held = f.factors.totp_secret("u-phone")
    assert held is not None and secret.encode() not in held.ciphertext
    assert (PHONE, NoticeEvent.TOTP_ADDED) in f.w.notices.sent
    assert "totp_enrolled" in f.w.world.events.types


def test_attack_enrolment_without_fresh_authentication_is_refused(f: FactorWorld) -> None:
    with pytest.raises(ReauthRequired):
        f.totp.start(f.w.caller("u-phone", reauth=False), ORIGIN)
    assert "reauth_refused" in f.w.world.events.types


def test_a_wrong_first_code_is_a_wrong_code_and_a_second_app_is_refused(f: FactorWorld) -> None:
    started = f.totp.start(f.w.caller("u-phone"), ORIGIN)
    secret = parse_qs(urlparse(started.otpauth_uri).query)["secret"][0]
    wrong = str((int(code_now(f, secret)) + 1) % 10**6).zfill(6)
    with pytest.raises(InvalidCode) as refused:
        f.totp.verify(Caller("u-phone", "s-1"), started.flow_id, wrong, ORIGIN)
    assert refused.value.extra["attempts_remaining"] == 4
    f.totp.verify(Caller("u-phone", "s-1"), started.flow_id, code_now(f, secret), ORIGIN)
    with pytest.raises(FactorAlreadyEnrolled):
        f.totp.start(f.w.caller("u-phone"), ORIGIN)


def test_attack_another_accounts_enrolment_is_no_one_it_knows(f: FactorWorld) -> None:
    started = f.totp.start(f.w.caller("u-phone"), ORIGIN)
    secret = parse_qs(urlparse(started.otpauth_uri).query)["secret"][0]
    with pytest.raises(NoPendingVerification):
        f.totp.verify(Caller("u-plain", "s-9"), started.flow_id, code_now(f, secret), ORIGIN)
    assert f.factors.totp_secret("u-plain") is None


def test_login_offers_the_app_first_and_sends_no_sms_until_asked(f: FactorWorld) -> None:
    secret, _ = enrolled(f)
    sent_before = len(f.w.world.sender.outbox)
    # When
    result = login_flow_id(f)
    # Then
    assert result.factors == (FactorKind.TOTP, FactorKind.SMS)
    assert len(f.w.world.sender.outbox) == sent_before
    # When the app's code comes back
    token = f.login.verify(
        result.challenge.flow_id, code_now(f, secret), ORIGIN, factor=FactorKind.TOTP
    )
    # Then
    assert isinstance(token, AccessToken)


def test_attack_an_app_code_is_accepted_once_per_time_step(f: FactorWorld) -> None:
    secret, _ = enrolled(f)
    code = code_now(f, secret)
    first = login_flow_id(f).challenge.flow_id
    f.login.verify(first, code, ORIGIN, factor=FactorKind.TOTP)
    # When the same code is replayed in the same step, on a fresh login
    second = login_flow_id(f).challenge.flow_id
    # Then it is a wrong code (before this change: a second token)
    with pytest.raises(InvalidCode):
        f.login.verify(second, code, ORIGIN, factor=FactorKind.TOTP)
    assert "totp_replay_refused" in f.w.world.events.types
    # and so is an earlier step's code, once a later one was used
    with pytest.raises(InvalidCode):
        f.login.verify(second, code_now(f, secret, -1), ORIGIN, factor=FactorKind.TOTP)
    # while the next step's code is accepted
    f.w.world.clock.advance(30)
    f.login.verify(second, code_now(f, secret), ORIGIN, factor=FactorKind.TOTP)


def test_sms_instead_sends_the_first_code_at_once_and_is_accepted(f: FactorWorld) -> None:
    enrolled(f)
    flow_id = login_flow_id(f).challenge.flow_id
    # When the person asks for an SMS instead (no cooldown: none was sent)
    f.login.resend(flow_id, ORIGIN)
    # Then
    code = f.w.world.sender.last_code(PHONE)
    assert isinstance(f.login.verify(flow_id, code, ORIGIN), AccessToken)


def test_attack_another_users_app_code_does_not_answer_this_login(f: FactorWorld) -> None:
    # Given u-plain has an app of its own, and u-phone none
    plain_secret, _ = enrolled(f, "u-plain")
    f.w.world.sender.outbox.clear()
    result = login_flow_id(f)
    assert result.factors == (FactorKind.SMS,)
    # When u-plain's app code is sent as u-phone's
    with pytest.raises(InvalidCode):
        f.login.verify(
            result.challenge.flow_id, code_now(f, plain_secret), ORIGIN, factor=FactorKind.TOTP
        )


def test_wrong_app_codes_count_towards_the_account_lock(f: FactorWorld) -> None:
    secret, _ = enrolled(f)
    flow_id = login_flow_id(f).challenge.flow_id
    wrong = str((int(code_now(f, secret)) + 1) % 10**6).zfill(6)
    before = f.w.world.failures.failures("u-phone")
    with pytest.raises(InvalidCode):
        f.login.verify(flow_id, wrong, ORIGIN, factor=FactorKind.TOTP)
    assert f.w.world.failures.failures("u-phone") == before + 1


def test_removal_needs_the_step_up_and_tells_the_phone(f: FactorWorld) -> None:
    enrolled(f)
    # Attack: without fresh authentication
    with pytest.raises(ReauthRequired):
        f.totp.remove(f.w.caller("u-phone", reauth=False), ORIGIN)
    assert f.factors.totp_secret("u-phone") is not None
    # With it
    f.totp.remove(f.w.caller("u-phone"), ORIGIN)
    assert f.factors.totp_secret("u-phone") is None
    assert (PHONE, NoticeEvent.TOTP_REMOVED) in f.w.notices.sent
    with pytest.raises(FactorNotEnrolled):
        f.totp.remove(f.w.caller("u-phone"), ORIGIN)
    # and the next login is by SMS again
    assert login_flow_id(f).factors == (FactorKind.SMS,)
