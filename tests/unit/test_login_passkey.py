"""Login by passkey (docs/factors.md#passkeys): after the password, an account with a passkey is
offered it first and sent no SMS until it asks; /login/passkey/options binds a challenge to the
login flow, /login/verify with `"factor": "passkey"` spends it. The attacks: a replayed
assertion, another user's credential, an assertion made for a payment or another login flow;
each is a wrong code (the flow's attempts, the account's count)."""

from __future__ import annotations

import pytest

from phoneverify.domain.errors import InvalidCode, InvalidRequest, TooManyAttempts
from phoneverify.domain.factors import FactorKind, enrolled_factors
from phoneverify.domain.models import Payment, PaymentStatus
from phoneverify.flows.engine.passkey_assertion import PasskeyAssertions
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.flows.payment_passkey import PaymentPasskey
from tests.support.builders import ORIGIN, PASSWORD, PHONE
from tests.support.factors import FactorWorld, factor_world
from tests.support.passkeys import SoftAuthenticator

EMAIL = "demo@example.com"


@pytest.fixture
def f() -> FactorWorld:
    return factor_world()


def started(f: FactorWorld, email: str = EMAIL) -> SecondFactorRequired:
    result = f.login.start(email, PASSWORD, ORIGIN)
    assert isinstance(result, SecondFactorRequired)
    return result


def test_a_passkey_is_offered_first_and_no_sms_goes_until_asked(f: FactorWorld) -> None:
    f.add_passkey()
    user = f.w.world.users.get("u-phone")
    assert user is not None and enrolled_factors(user)[0] is FactorKind.PASSKEY
    login = started(f)
    assert login.factors == (FactorKind.PASSKEY, FactorKind.SMS)
    assert f.w.world.sender.outbox == []
    # "Send me an SMS instead": the first code goes at once, no cooldown, and is accepted
    f.login.resend(login.challenge.flow_id, ORIGIN)
    code = f.w.world.sender.last_code(PHONE)
    token = f.login.verify(login.challenge.flow_id, code, ORIGIN)
    assert token.token


def test_the_passkey_completes_the_login_once(f: FactorWorld) -> None:
    key = f.add_passkey()
    login = started(f)
    options = f.login.passkey_options(login.challenge.flow_id, ORIGIN)
    assert [c["id"] for c in options["allowCredentials"]] == [key.passkey_id]
    assertion = key.get(options)
    token = f.login.verify(
        login.challenge.flow_id, None, ORIGIN, factor=FactorKind.PASSKEY, credential=assertion
    )
    assert token.token
    assert "passkey_accepted" in f.w.world.events.types
    # Replayed on a new login of the same account: its challenge was spent
    again = started(f)
    with pytest.raises(InvalidCode):
        f.login.verify(
            again.challenge.flow_id, None, ORIGIN, factor=FactorKind.PASSKEY, credential=assertion
        )


def test_attack_another_login_flows_assertion_is_refused(f: FactorWorld) -> None:
    key = f.add_passkey()
    first, second = started(f), started(f)
    for_first = key.get(f.login.passkey_options(first.challenge.flow_id, ORIGIN))
    f.login.passkey_options(second.challenge.flow_id, ORIGIN)
    with pytest.raises(InvalidCode):
        f.login.verify(
            second.challenge.flow_id, None, ORIGIN, factor=FactorKind.PASSKEY, credential=for_first
        )
    assert "passkey_rejected" in f.w.world.events.types


def test_attack_another_users_credential_is_refused(f: FactorWorld) -> None:
    f.add_passkey("u-phone")
    stranger = f.add_passkey("u-plain")
    login = started(f)
    options = f.login.passkey_options(login.challenge.flow_id, ORIGIN)
    with pytest.raises(InvalidCode):
        f.login.verify(
            login.challenge.flow_id,
            None,
            ORIGIN,
            factor=FactorKind.PASSKEY,
            credential=stranger.get(options),
        )


def test_attack_an_assertion_made_for_a_payment_does_not_log_in(f: FactorWorld) -> None:
    key = f.add_passkey()
    payment = Payment(
        payment_id="pay-1",
        user_id="u-phone",
        amount="250.00",
        currency="EUR",
        recipient="ACME Ltd",
        description=None,
        status=PaymentStatus.PENDING,
        created_at=1_800_000_000.0,
        flow_id="f-1",
    )
    assertions: PasskeyAssertions = f.assertions
    for_payment = key.get(PaymentPasskey(assertions=assertions).options("u-phone", payment))
    login = started(f)
    f.login.passkey_options(login.challenge.flow_id, ORIGIN)
    with pytest.raises(InvalidCode):
        f.login.verify(
            login.challenge.flow_id, None, ORIGIN, factor=FactorKind.PASSKEY, credential=for_payment
        )


def test_wrong_assertions_spend_the_logins_attempts(f: FactorWorld) -> None:
    key = f.add_passkey()
    login = started(f)
    forged = key.get({"challenge": "AAAA"}, challenge=b"a challenge nobody kept here")
    for _ in range(5):
        with pytest.raises((InvalidCode, TooManyAttempts)):
            f.login.verify(
                login.challenge.flow_id, None, ORIGIN, factor=FactorKind.PASSKEY, credential=forged
            )
    with pytest.raises(TooManyAttempts):
        f.login.passkey_options(login.challenge.flow_id, ORIGIN)
    assert f.w.world.failures.failures("u-phone") >= 5


def test_a_passkey_answer_needs_its_credential_alone(f: FactorWorld) -> None:
    f.add_passkey()
    login = started(f)
    with pytest.raises(InvalidRequest):
        f.login.verify(login.challenge.flow_id, None, ORIGIN, factor=FactorKind.PASSKEY)
    with pytest.raises(InvalidRequest):
        f.login.verify(login.challenge.flow_id, "123456", ORIGIN, factor=FactorKind.PASSKEY)


def test_the_first_stronger_factor_gives_the_recovery_codes_once(f: FactorWorld) -> None:
    # Given an account with no stronger factor, When it adds a passkey
    options = f.registry.creation_options(f.w.caller("u-plain"), ORIGIN)
    view = f.registry.register(f.w.caller("u-plain"), SoftAuthenticator().create(options), ORIGIN)
    # Then it is shown ten recovery codes, which log in in place of the passkey
    assert len(view.recovery_codes) == 10
    user = f.w.world.users.get("u-plain")
    assert user is not None and user.recovery_codes_left == 10
    # A second passkey gives none
    options = f.registry.creation_options(f.w.caller("u-plain"), ORIGIN)
    second = f.registry.register(f.w.caller("u-plain"), SoftAuthenticator().create(options), ORIGIN)
    assert second.recovery_codes == ()
    login = started(f, "plain@example.com")
    token = f.login.verify(
        login.challenge.flow_id, None, ORIGIN, recovery_code=view.recovery_codes[0]
    )
    assert token.token
