"""The password reset of an account with a passkey (docs/factors.md#the-password-reset): the
SMS code alone (a swapped SIM) never replaces the passkey; the passkey's assertion over the
reset's own options, or a recovery code, does. The options name no credential and look alike
for a decoy, so they tell nobody whether the account holds a passkey."""

from __future__ import annotations

import pytest

from phoneverify.domain.errors import InvalidCode
from phoneverify.domain.factor_errors import FactorRequired
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.http.errors import error_body
from tests.support.builders import ORIGIN, PHONE
from tests.support.factors import FactorWorld, factor_world

NEW_PASSWORD = "a brand new passphrase 2026"


@pytest.fixture
def f() -> FactorWorld:
    return factor_world()


def password_is_new(f: FactorWorld) -> bool:
    user = f.w.world.users.get("u-phone")
    assert user is not None
    return PasswordHasher(cost=4).verify(NEW_PASSWORD, user.password_hash)


def test_attack_the_sms_code_alone_does_not_reset_an_account_with_a_passkey(
    f: FactorWorld,
) -> None:
    f.add_passkey()
    flow_id = f.reset.start("demo@example.com", ORIGIN).flow_id
    code = f.w.world.sender.last_code(PHONE)
    with pytest.raises(FactorRequired) as asked:
        f.reset.verify(flow_id, code, NEW_PASSWORD, ORIGIN)
    assert error_body(asked.value)["factors"] == ["passkey", "recovery"]
    assert not password_is_new(f)


def test_the_passkey_with_the_sms_code_resets_once(f: FactorWorld) -> None:
    key = f.add_passkey()
    flow_id = f.reset.start("demo@example.com", ORIGIN).flow_id
    code = f.w.world.sender.last_code(PHONE)
    options = f.reset.passkey_options(flow_id, ORIGIN)
    assert options.get("allowCredentials", []) == []  # names none: alike for everyone
    # An assertion over another challenge is a wrong code; the password stays
    forged = key.get(options, challenge=b"a challenge this reset never kept")
    with pytest.raises(InvalidCode):
        f.reset.verify(flow_id, code, NEW_PASSWORD, ORIGIN, credential=forged)
    assert not password_is_new(f)
    f.reset.verify(flow_id, code, NEW_PASSWORD, ORIGIN, credential=key.get(options))
    assert password_is_new(f)


def test_a_decoys_options_look_like_an_accounts(f: FactorWorld) -> None:
    f.add_passkey()
    real = f.reset.passkey_options(f.reset.start("demo@example.com", ORIGIN).flow_id, ORIGIN)
    decoy = f.reset.passkey_options(f.reset.start("nobody@example.com", ORIGIN).flow_id, ORIGIN)
    assert sorted(real) == sorted(decoy)
    assert real.get("allowCredentials", []) == decoy.get("allowCredentials", []) == []
