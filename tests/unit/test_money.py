"""Amounts and currencies as a client sends them: what is accepted, what is refused and why."""

from __future__ import annotations

from decimal import Decimal

import pytest

from phoneverify.config import (
    ConfigurationError,
    PaymentInitiateSettings,
    PaymentSettings,
    Settings,
)
from phoneverify.domain.errors import InvalidRequest
from phoneverify.domain.money import (
    BUILTIN_THRESHOLDS,
    CURRENCY_MINOR_UNITS,
    ExemptionLimits,
    Thresholds,
    parse_money,
    to_minor,
)
from phoneverify.http.errors import error_body, status_of
from phoneverify.runtime import Runtime
from tests.support.lambda_env import template_environment


@pytest.mark.parametrize(
    ("amount", "currency", "text"),
    [
        ("250.00", "USD", "250.00"),
        ("250", "USD", "250.00"),
        (250, "USD", "250.00"),
        (250.5, "USD", "250.50"),
        (19.99, "USD", "19.99"),  # the digits sent, not the binary float
        ("0.01", "EUR", "0.01"),
        ("1500", "JPY", "1500"),
        (1500.0, "JPY", "1500"),  # a whole number, even written as a float
        ("12.345", "KWD", "12.345"),
        ("12.3", "BHD", "12.300"),
        (" 42.10 ", "usd", "42.10"),
        ("250.100", "USD", "250.10"),  # trailing zeros change nothing
    ],
)
def test_valid_amounts_are_normalised_to_the_currency_minor_units(
    amount: object, currency: str, text: str
) -> None:
    money = parse_money(amount, currency)
    assert money.text == text
    assert money.currency == currency.strip().upper()
    assert isinstance(money.amount, Decimal)


@pytest.mark.parametrize(
    ("amount", "currency", "field", "reason"),
    [
        ("100.5", "JPY", "amount", "no decimals"),
        ("10.001", "USD", "amount", "at most 2 decimals"),
        ("1.0001", "KWD", "amount", "at most 3 decimals"),
        (0.001, "EUR", "amount", "at most 2 decimals"),
        ("0", "USD", "amount", "greater than zero"),
        ("0.00", "USD", "amount", "greater than zero"),
        (0, "USD", "amount", "greater than zero"),
        ("-5.00", "USD", "amount", "greater than zero"),
        (-5, "USD", "amount", "greater than zero"),
        ("NaN", "USD", "amount", "decimal string"),
        ("Infinity", "USD", "amount", "decimal string"),
        (float("nan"), "USD", "amount", "finite"),
        (float("inf"), "USD", "amount", "finite"),
        ("1e3", "USD", "amount", "decimal string"),
        ("1,000.00", "USD", "amount", "decimal string"),
        ("+5", "USD", "amount", "decimal string"),
        ("\uff11\uff10", "USD", "amount", "decimal string"),  # full-width digits
        ("", "USD", "amount", "decimal string"),
        ("1" * 40, "USD", "amount", "too long"),
        ("1000000000000", "USD", "amount", "too large"),
        (1e300, "USD", "amount", "too large"),
        (True, "USD", "amount", "a decimal string"),
        (None, "USD", "amount", "a decimal string"),
        ([100], "USD", "amount", "a decimal string"),
        ("100.00", "XYZ", "currency", "not a supported currency"),
        ("100.00", "XAU", "currency", "not a supported currency"),  # gold: no minor units
        ("100.00", "US", "currency", "three-letter"),
        ("100.00", "US$", "currency", "three-letter"),
        ("100.00", 840, "currency", "three-letter"),
        ("100.00", True, "currency", "three-letter"),
    ],
)
def test_invalid_money_is_a_400_naming_the_field(
    amount: object, currency: object, field: str, reason: str
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        parse_money(amount, currency)
    assert status_of(caught.value) == 400
    body = error_body(caught.value)
    assert body["field"] == field
    assert body["error"].startswith(field)
    assert reason in body["error"]


def test_the_currency_table_has_the_iso_4217_exponents() -> None:
    assert {c: CURRENCY_MINOR_UNITS[c] for c in ("JPY", "USD", "EUR", "KWD", "BHD", "CLP")} == {
        "JPY": 0,
        "USD": 2,
        "EUR": 2,
        "KWD": 3,
        "BHD": 3,
        "CLP": 0,
    }
    assert all(len(code) == 3 and code.isupper() for code in CURRENCY_MINOR_UNITS)
    assert "HRK" not in CURRENCY_MINOR_UNITS  # withdrawn when Croatia adopted the euro


def test_thresholds_default_to_100_in_usd_and_follow_the_builtin_table() -> None:
    # Given the defaults
    thresholds = Thresholds.from_config({}, "100.00")
    # Then: at or above the threshold needs a code
    assert thresholds.requires_verification(parse_money("100.00", "USD"))
    assert not thresholds.requires_verification(parse_money("99.99", "USD"))
    # JPY and KWD use the built-in table rather than "100 units"
    assert not thresholds.requires_verification(parse_money("14999", "JPY"))
    assert thresholds.requires_verification(parse_money("15000", "JPY"))
    assert thresholds.requires_verification(parse_money("30.000", "KWD"))
    assert not thresholds.requires_verification(parse_money("29.999", "KWD"))
    # A currency without an entry uses the default in its own units
    assert thresholds.for_currency("THB") == Decimal("100.00")
    assert thresholds.requires_verification(parse_money("100", "THB"))


def test_configured_thresholds_override_the_builtin_ones_per_currency() -> None:
    thresholds = Thresholds.from_config({"usd": "500.00", "THB": "3000"}, "50")
    assert not thresholds.requires_verification(parse_money("499.99", "USD"))
    assert thresholds.requires_verification(parse_money("3000", "THB"))
    assert thresholds.for_currency("EUR") == Decimal(BUILTIN_THRESHOLDS["EUR"])
    assert thresholds.for_currency("SEK") == Decimal("50")


@pytest.mark.parametrize(
    "overrides", [{"XYZ": "10"}, {"JPY": "10.5"}, {"USD": "-1"}, {"USD": "lots"}]
)
def test_a_bad_threshold_table_is_refused(overrides: dict[str, str]) -> None:
    with pytest.raises(InvalidRequest):
        Thresholds.from_config(overrides, "100.00")


def payment_function_env(**extra: str) -> dict[str, str]:
    return {**template_environment("PaymentsInitiateFunction"), **extra}


def initiate_env(**extra: str) -> dict[str, str]:
    """POST /payments/initiate's environment as the template declares it (empty: missing)."""
    return payment_function_env(**extra)


def test_thresholds_are_configured_per_currency_through_the_environment() -> None:
    # Given
    env = payment_function_env(
        PAYMENT_THRESHOLDS='{"JPY": "20000", "USD": "250.00"}', PAYMENT_DEFAULT_THRESHOLD="50"
    )
    # When
    settings = Settings.from_env(env)
    thresholds = Thresholds.from_config(
        settings.payment_thresholds, settings.payment_default_threshold
    )
    # Then
    assert thresholds.for_currency("JPY") == Decimal("20000")
    assert not thresholds.requires_verification(parse_money("249.99", "USD"))
    assert thresholds.for_currency("SEK") == Decimal("50")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("PAYMENT_THRESHOLDS", '{"JPY": "1.5"}'),
        ("PAYMENT_THRESHOLDS", '{"ABC": "10"}'),
        ("PAYMENT_THRESHOLDS", "not json"),
        ("PAYMENT_DEFAULT_THRESHOLD", "-1"),
        ("PAYMENT_CUMULATIVE_LIMITS", '{"USD": "0"}'),
        ("PAYMENT_CUMULATIVE_LIMITS", '{"JPY": "99.5"}'),
        ("PAYMENT_MAX_EXEMPT_PAYMENTS", "0"),
    ],
)
def test_a_bad_threshold_setting_fails_the_cold_start_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env(payment_function_env(**{name: value}))


def test_a_payment_function_without_its_tables_fails_the_cold_start(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = payment_function_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("LEDGER_TABLE")
    with pytest.raises(ConfigurationError, match="LEDGER_TABLE"):
        Runtime.from_environment(PaymentSettings)


def test_the_cumulative_limit_is_one_amount_in_the_reference_currency() -> None:
    # Given the defaults, then PSD2's own figures in euros (EUR 50 a payment, EUR 100 in all)
    defaults = PaymentInitiateSettings.from_env(initiate_env())
    settings = PaymentInitiateSettings.from_env(
        initiate_env(
            PAYMENT_THRESHOLDS='{"EUR": "50.00"}',
            PAYMENT_CUMULATIVE_LIMITS='{"eur": "100.00"}',
            PAYMENT_REFERENCE_CURRENCY="EUR",
        )
    )
    # When
    by_default = ExemptionLimits.from_config(
        defaults.payment_cumulative_limits,
        defaults.payment_max_exempt_payments,
        reference=defaults.payment_reference_currency,
    )
    thresholds = Thresholds.from_config(settings.payment_thresholds, "100.00")
    limits = ExemptionLimits.from_config(
        settings.payment_cumulative_limits,
        settings.payment_max_exempt_payments,
        reference=settings.payment_reference_currency,
        thresholds=thresholds,
    )
    # Then: USD 100.00 (the USD threshold) by default, EUR 100.00 as configured
    assert (by_default.reference, by_default.cumulative_limit) == ("USD", Decimal("100.00"))
    assert by_default.cumulative_limit_minor == 10_000 and by_default.max_payments == 5
    assert (limits.reference, limits.cumulative_limit) == ("EUR", Decimal("100.00"))
    assert thresholds.for_currency("EUR") == Decimal("50.00")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        # one limit, in the reference currency: a limit in another currency is refused
        ("PAYMENT_CUMULATIVE_LIMITS", '{"EUR": "90.00"}'),
        ("PAYMENT_REFERENCE_CURRENCY", "usd"),
        ("PAYMENT_REFERENCE_CURRENCY", "ABC"),
        ("FX_RATES_PARAM", "fx-rates"),
        ("FX_RATES_PARAM", ""),
        ("FX_RATES_MAX_AGE_DAYS", "0"),
        ("FX_RATES_MAX_AGE_DAYS", "91"),
    ],
)
def test_a_bad_exchange_rate_setting_fails_the_cold_start_naming_it(name: str, value: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        PaymentInitiateSettings.from_env(initiate_env(**{name: value}))


def test_amounts_and_limits_in_minor_units() -> None:
    assert parse_money("99.99", "USD").minor == 9999
    assert parse_money("1500", "JPY").minor == 1500
    assert parse_money("12.3", "BHD").minor == 12300
    # A limit finer than the currency's minor unit is rounded up, never down
    assert to_minor(Decimal("100.5"), "JPY") == 101
