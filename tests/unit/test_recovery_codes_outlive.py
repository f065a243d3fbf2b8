"""The recovery codes belong to "the account has a stronger factor", not to one of them
(docs/factors.md#recovery-codes): removing the app or a passkey keeps them while another
stronger factor remains, and the last one's removal takes them with it."""

from __future__ import annotations

import pytest

from phoneverify.domain.factors import FactorKind, codes_outlive_removal, enrolled_factors
from phoneverify.domain.tokens import AccessToken
from phoneverify.flows.login import SecondFactorRequired
from tests.support.builders import ORIGIN, PASSWORD
from tests.support.factors import FactorWorld, factor_world
from tests.unit.test_totp import enrolled


@pytest.fixture
def f() -> FactorWorld:
    return factor_world()


def codes_left(f: FactorWorld, user_id: str = "u-phone") -> int:
    user = f.w.world.users.get(user_id)
    assert user is not None
    return user.recovery_codes_left


def login(f: FactorWorld) -> str:
    result = f.login.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(result, SecondFactorRequired)
    return result.challenge.flow_id


def test_the_rule() -> None:
    assert codes_outlive_removal(passkeys_left=1, app_left=False)
    assert codes_outlive_removal(passkeys_left=0, app_left=True)
    assert not codes_outlive_removal(passkeys_left=0, app_left=False)


def test_removing_the_app_keeps_the_codes_while_a_passkey_remains(f: FactorWorld) -> None:
    _, codes = enrolled(f)
    key = f.add_passkey()
    # When the app goes (before this change: the codes went with it)
    f.totp.remove(f.w.caller("u-phone"), ORIGIN)
    # Then the codes stay, and one still signs in
    assert codes_left(f) == 10
    assert isinstance(f.login.verify(login(f), None, ORIGIN, recovery_code=codes[0]), AccessToken)
    # and they go with the last passkey
    f.registry.remove(f.w.caller("u-phone"), key.passkey_id, ORIGIN)
    assert codes_left(f) == 0
    user = f.w.world.users.get("u-phone")
    assert user is not None and enrolled_factors(user) == (FactorKind.SMS,)


def test_removing_the_last_passkey_takes_the_codes(f: FactorWorld) -> None:
    first, second = f.add_passkey(), f.add_passkey()
    assert codes_left(f) == 10
    f.registry.remove(f.w.caller("u-phone"), first.passkey_id, ORIGIN)
    assert codes_left(f) == 10  # another passkey remains
    f.registry.remove(f.w.caller("u-phone"), second.passkey_id, ORIGIN)
    assert codes_left(f) == 0


def test_removing_a_passkey_keeps_the_codes_while_the_app_remains(f: FactorWorld) -> None:
    key = f.add_passkey()
    enrolled(f)
    f.registry.remove(f.w.caller("u-phone"), key.passkey_id, ORIGIN)
    assert codes_left(f) == 10
    f.totp.remove(f.w.caller("u-phone"), ORIGIN)
    assert codes_left(f) == 0
