"""The factor registry (domain/factors.py): which factors an account holds, strongest first,
as the login answer and GET /account show them."""

from __future__ import annotations

from dataclasses import replace

from phoneverify.domain.factors import (
    FactorKind,
    enrolled_factors,
    has_stronger_factor,
    login_factors,
)
from phoneverify.domain.models import User
from phoneverify.http.account_responses import account_response

PLAIN = User(user_id="u-1", email="a@example.com", password_hash="x")
PHONE = replace(PLAIN, phone_number="+14155550123")
APP = replace(PHONE, totp_enrolled_at=1_000.0, recovery_codes_left=10)


def test_an_account_without_a_phone_has_no_factor() -> None:
    assert enrolled_factors(PLAIN) == ()
    assert not has_stronger_factor(PLAIN)


def test_a_phone_is_the_sms_factor() -> None:
    assert enrolled_factors(PHONE) == (FactorKind.SMS,)
    assert login_factors(PHONE) == (FactorKind.SMS,)
    assert not has_stronger_factor(PHONE)


def test_an_app_comes_before_sms_and_recovery_codes_last() -> None:
    assert enrolled_factors(APP) == (FactorKind.TOTP, FactorKind.SMS, FactorKind.RECOVERY)
    assert has_stronger_factor(APP)


def test_a_recovery_code_is_never_offered_as_a_login_factor() -> None:
    assert login_factors(APP) == (FactorKind.TOTP, FactorKind.SMS)


def test_spent_recovery_codes_are_no_factor() -> None:
    spent = replace(APP, recovery_codes_left=0)
    assert FactorKind.RECOVERY not in enrolled_factors(spent)


def test_get_account_lists_the_factors_strongest_first() -> None:
    body = account_response(APP).model_dump(mode="json")
    assert body["factors"] == ["totp", "sms", "recovery"]
    assert account_response(PLAIN).model_dump(mode="json")["factors"] == []
