"""The password reset of an account with an authenticator app (docs/factors.md): the SMS code
alone (a swapped SIM) never replaces the app; the app's code or a recovery code does."""

from __future__ import annotations

import pyotp
import pytest

from phoneverify.domain.errors import InvalidCode
from phoneverify.domain.factor_errors import FactorRequired
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.flows.password_reset import PasswordResetDone
from phoneverify.http.errors import error_body, status_of
from tests.support.builders import ORIGIN, PHONE
from tests.support.factors import FactorWorld, factor_world
from tests.unit.test_totp import enrolled

NEW_PASSWORD = "a brand new passphrase 2026"


@pytest.fixture
def f() -> FactorWorld:
    return factor_world()


def reset_started(f: FactorWorld) -> tuple[str, str]:
    started = f.reset.start("demo@example.com", ORIGIN)
    return started.flow_id, f.w.world.sender.last_code(PHONE)


def password_is_new(f: FactorWorld) -> bool:
    user = f.w.world.users.get("u-phone")
    assert user is not None
    return PasswordHasher(cost=4).verify(NEW_PASSWORD, user.password_hash)


def test_attack_the_sms_code_alone_does_not_reset_an_account_with_an_app(
    f: FactorWorld,
) -> None:
    enrolled(f)
    flow_id, code = reset_started(f)
    # When only the SMS code comes (before this change: the password was reset)
    with pytest.raises(FactorRequired) as asked:
        f.reset.verify(flow_id, code, NEW_PASSWORD, ORIGIN)
    # Then the app is asked for, by a clear 400, and nothing changed
    assert status_of(asked.value) == 400
    assert error_body(asked.value)["factors"] == ["totp", "recovery"]
    assert not password_is_new(f)


def test_a_wrong_app_code_is_a_wrong_code_and_the_right_one_resets(f: FactorWorld) -> None:
    secret, _ = enrolled(f)
    flow_id, code = reset_started(f)
    with pytest.raises(FactorRequired):
        f.reset.verify(flow_id, code, NEW_PASSWORD, ORIGIN)
    right = pyotp.TOTP(secret).at(f.w.world.clock.now())
    wrong = str((int(right) + 1) % 10**6).zfill(6)
    with pytest.raises(InvalidCode):
        f.reset.verify(flow_id, code, NEW_PASSWORD, ORIGIN, totp_code=wrong)
    assert not password_is_new(f)
    # the same SMS code, with the app's: done
    done = f.reset.verify(flow_id, code, NEW_PASSWORD, ORIGIN, totp_code=right)
    assert isinstance(done, PasswordResetDone) and password_is_new(f)


def test_a_recovery_code_stands_in_for_a_lost_app_once(f: FactorWorld) -> None:
    _, codes = enrolled(f)
    flow_id, code = reset_started(f)
    f.reset.verify(flow_id, code, NEW_PASSWORD, ORIGIN, recovery_code=codes[2])
    assert password_is_new(f)
    flow_id, code = reset_started(f)
    with pytest.raises(InvalidCode):
        f.reset.verify(flow_id, code, "another new passphrase 99", ORIGIN, recovery_code=codes[2])


def test_an_account_with_only_a_phone_resets_by_sms_as_before(f: FactorWorld) -> None:
    flow_id, code = reset_started(f)
    assert isinstance(f.reset.verify(flow_id, code, NEW_PASSWORD, ORIGIN), PasswordResetDone)
