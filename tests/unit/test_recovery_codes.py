"""Recovery codes (docs/factors.md#recovery-codes): ten at the app's enrolment, kept as keyed
digests, each accepted once at login in place of a second factor, with a notice."""

from __future__ import annotations

import pytest

from phoneverify.domain.errors import InvalidCode, InvalidRequest
from phoneverify.domain.factors import FactorKind, enrolled_factors
from phoneverify.domain.models import NoticeEvent
from phoneverify.domain.recovery_codes import code_digest, digests_of, new_codes, normalise
from phoneverify.domain.tokens import AccessToken
from phoneverify.flows.login import SecondFactorRequired
from tests.support.builders import ORIGIN, PASSWORD, PEPPER, PHONE
from tests.support.factors import FactorWorld, factor_world
from tests.unit.test_totp import enrolled


@pytest.fixture
def f() -> FactorWorld:
    return factor_world()


def login(f: FactorWorld) -> str:
    result = f.login.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(result, SecondFactorRequired)
    return result.challenge.flow_id


def test_codes_are_fifty_random_bits_shown_in_two_groups() -> None:
    codes = new_codes()
    assert len(codes) == 10 and len(set(codes)) == 10
    assert all(len(c) == 11 and c[5] == "-" for c in codes)
    # typed loosely (upper case, spaces) they are the same code
    assert normalise(f"  {codes[0].upper().replace('-', ' ')} ") == codes[0].replace("-", "")
    assert code_digest(PEPPER, codes[0]) == digests_of(PEPPER, codes[:1])[0]
    assert code_digest(b"another pepper", codes[0]) != code_digest(PEPPER, codes[0])
    assert normalise("not-a-code!") is None


def test_a_recovery_code_signs_in_once_and_tells_the_phone(f: FactorWorld) -> None:
    _, codes = enrolled(f)
    # When
    token = f.login.verify(login(f), None, ORIGIN, recovery_code=codes[3])
    # Then
    assert isinstance(token, AccessToken)
    assert (PHONE, NoticeEvent.RECOVERY_CODE_USED) in f.w.notices.sent
    assert "recovery_code_used" in f.w.world.events.types
    user = f.w.world.users.get("u-phone")
    assert user is not None and user.recovery_codes_left == 9


def test_attack_a_spent_recovery_code_is_refused(f: FactorWorld) -> None:
    _, codes = enrolled(f)
    f.login.verify(login(f), None, ORIGIN, recovery_code=codes[0])
    # When the same code is used again (before this change: a second token)
    with pytest.raises(InvalidCode):
        f.login.verify(login(f), None, ORIGIN, recovery_code=codes[0])
    # while another of the codes still works
    assert isinstance(f.login.verify(login(f), None, ORIGIN, recovery_code=codes[1]), AccessToken)


def test_another_accounts_recovery_code_is_a_wrong_code(f: FactorWorld) -> None:
    _, plain_codes = enrolled(f, "u-plain")
    with pytest.raises(InvalidCode):
        f.login.verify(login(f), None, ORIGIN, recovery_code=plain_codes[0])


def test_exactly_one_of_code_and_recovery_code(f: FactorWorld) -> None:
    _, codes = enrolled(f)
    flow_id = login(f)
    with pytest.raises(InvalidRequest):
        f.login.verify(flow_id, "123456", ORIGIN, recovery_code=codes[0])
    with pytest.raises(InvalidRequest):
        f.login.verify(flow_id, None, ORIGIN)


def test_removing_the_app_keeps_no_factor_it_no_longer_has(f: FactorWorld) -> None:
    enrolled(f)
    f.totp.remove(f.w.caller("u-phone"), ORIGIN)
    user = f.w.world.users.get("u-phone")
    assert user is not None
    assert enrolled_factors(user) == (FactorKind.SMS,)
