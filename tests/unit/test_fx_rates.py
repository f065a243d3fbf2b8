"""The operators' exchange rates (domain/rates.py) and their SSM source (adapters/fx_rates.py):
what a rate may be, how a payment is converted (rounded up: splitting cannot round under the
limit), and how a table that cannot be used fails safe."""

from __future__ import annotations

import json
from decimal import Decimal, localcontext

import pytest
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError

from phoneverify.adapters.fx_rates import METRIC_STALE, METRIC_UNUSABLE, SsmRateSource
from phoneverify.domain.money import Money, parse_money
from phoneverify.domain.rates import (
    MAX_TABLE_BYTES,
    InvalidRate,
    RateTable,
    convert_minor,
    parse_rate,
    rate_text,
)
from tests.support.fakes import FakeClock

NOW = 1_800_000_000
WEEK = 7 * 86_400


def table(rates: dict[str, str], reference: str = "USD", **extra: object) -> RateTable:
    return RateTable.parse(json.dumps({"reference": reference, "rates": rates, **extra}))


# -- rates -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("1.08", Decimal("1.08")),
        (" 0.0067 ", Decimal("0.0067")),
        ("42000", Decimal("42000")),
        ("0.000000000001", Decimal("1E-12")),
        ("999999999.999999999999", Decimal("999999999.999999999999")),
    ],
)
def test_a_rate_is_a_positive_decimal_of_bounded_precision(text: str, rate: Decimal) -> None:
    assert parse_rate(text, "EUR") == rate


@pytest.mark.parametrize(
    "text",
    [
        "0",
        "0.000",
        "-1.08",
        "1,08",
        "1e3",
        "NaN",
        "Infinity",
        "",
        "1.",
        ".5",
        "0.0000000000001",  # 13 decimals
        "1000000000",  # 10 integer digits
        "1.08 EUR",
        "\u0661\u066b\u0660\u0668",  # Arabic-Indic digits: ASCII only
    ],
)
def test_a_rate_of_zero_a_negative_or_anything_else_is_refused_naming_it(text: str) -> None:
    with pytest.raises(InvalidRate, match="EUR"):
        parse_rate(text, "EUR")


def test_a_rate_that_is_not_a_string_is_refused() -> None:
    with pytest.raises(InvalidRate, match="decimal string"):
        parse_rate(1.08, "EUR")


def test_rates_are_written_in_plain_decimal_notation() -> None:
    assert [rate_text(Decimal(t)) for t in ("1.080", "0.0000001", "42000", "3")] == [
        "1.08",
        "0.0000001",
        "42000.0",
        "3.0",
    ]


# -- conversion ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("amount", "currency", "minor"),
    [
        ("99.99", "USD", 9_999),  # the reference itself: rate 1
        ("89.99", "EUR", 9_719),  # 97.1892 -> 97.19
        ("84.99", "CHF", 9_604),  # 96.0387 -> 96.04
        ("74.99", "GBP", 9_524),  # 95.2373 -> 95.24
        ("0.01", "EUR", 2),  # 0.0108 -> 0.02: never 0.01
        ("14999", "JPY", 10_050),  # 100.4933 -> 100.50
        ("29.999", "KWD", 9_750),  # 97.49675 -> 97.50
        ("79.99", "KYD", None),  # no rate
    ],
)
def test_a_payment_is_converted_to_the_reference_minor_units_rounded_up(
    amount: str, currency: str, minor: int | None
) -> None:
    rates = table({"EUR": "1.08", "CHF": "1.13", "GBP": "1.27", "JPY": "0.0067", "KWD": "3.25"})
    assert rates.to_reference_minor(parse_money(amount, currency)) == minor


def test_a_reference_with_no_minor_units_rounds_up_to_whole_units() -> None:
    # 1.00 USD at 156.4 JPY is 156.4 JPY: 157, never 156
    assert table({"USD": "156.4"}, "JPY").to_reference_minor(parse_money("1.00", "USD")) == 157


def test_splitting_a_payment_never_converts_to_less_than_the_whole() -> None:
    # For every split of 100.00 EUR into n equal slices, at awkward rates, the converted slices
    # add up to at least the converted whole (each slice is rounded up, never down)
    for rate in ("1.08", "1.0833333", "0.999999999999", "0.0067", "3.2549"):
        whole = convert_minor(Decimal("100.00"), Decimal(rate), "USD")
        for n in (1, 2, 3, 7, 100, 1_000, 10_000):
            slice_ = (Decimal("100.00") / n).quantize(Decimal("0.01"))
            slices = [slice_] * (n - 1) + [Decimal("100.00") - slice_ * (n - 1)]
            if min(slices) <= 0:
                continue
            converted = sum(convert_minor(part, Decimal(rate), "USD") for part in slices)
            assert converted >= whole, (rate, n)


def test_the_largest_amount_at_the_largest_rate_converts_exactly() -> None:
    amount = Decimal("999999999999.999")
    rate = Decimal("999999999.999999999999")
    minor = convert_minor(amount, rate, "USD")
    with localcontext() as exact:
        exact.prec = 60
        product = amount * rate * 100  # 36 digits: the default 28 would round it
        assert 0 <= Decimal(minor) - product < 1


# -- the table's text ------------------------------------------------------------------------
def test_the_table_round_trips_through_its_text() -> None:
    rates = table({"eur": "1.080", "GBP": "1.27"}, updated_at=NOW, updated_by="local")
    again = RateTable.parse(rates.text())
    assert again == rates
    assert json.loads(rates.text()) == {
        "reference": "USD",
        "rates": {"EUR": "1.08", "GBP": "1.27"},
        "updated_at": NOW,
        "updated_by": "local",
    }


def test_the_templates_initial_table_holds_the_reference_and_no_rate() -> None:
    initial = RateTable.parse('{"reference":"USD","rates":{}}')
    assert (initial.reference, dict(initial.rates), initial.updated_at) == ("USD", {}, None)
    assert initial.to_reference_minor(Money(Decimal("1.00"), "EUR")) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json", "not JSON"),
        ("[]", "not a JSON object"),
        ('{"reference": "XYZ", "rates": {}}', "not a currency"),
        ('{"reference": "USD", "rates": []}', "not a JSON object"),
        ('{"reference": "USD", "rates": {"EUR": "0"}}', "greater than zero"),
        ('{"reference": "USD", "rates": {"EUR": 1.08}}', "decimal string"),
        ('{"reference": "USD", "rates": {"USD": "1.0"}}', "reference currency"),
        ('{"reference": "USD", "rates": {"EURO": "1.08"}}', "not a currency"),
        ('{"reference": "USD", "rates": {}, "updated_at": "yesterday"}', "updated_at"),
    ],
)
def test_a_malformed_table_is_refused_saying_why(text: str, message: str) -> None:
    with pytest.raises(InvalidRate, match=message):
        RateTable.parse(text)


def test_a_table_over_an_ssm_standard_parameter_is_refused() -> None:
    from phoneverify.domain.money import CURRENCY_MINOR_UNITS

    every = {code: "999999999.999999999999" for code in CURRENCY_MINOR_UNITS if code != "USD"}
    with pytest.raises(InvalidRate, match=str(MAX_TABLE_BYTES)):
        table(every).text()


def test_rates_grow_stale_after_the_max_age_and_an_empty_table_never_does() -> None:
    rates = table({"EUR": "1.08"}, updated_at=NOW)
    assert not rates.stale(NOW + WEEK, WEEK)
    assert rates.stale(NOW + WEEK + 1, WEEK)
    assert table({"EUR": "1.08"}).stale(NOW, WEEK)  # rates without a date: stale
    assert not table({}).stale(NOW + 10 * WEEK, WEEK)


# -- the SSM source ----------------------------------------------------------------------------
class Secrets:
    """SecretSource: one parameter's text, or an error; counts reads."""

    def __init__(self, text: str | Exception) -> None:
        self.text = text
        self.reads = 0

    def get(self, name: str) -> str:
        self.reads += 1
        assert name == "/phone-verify/dev/fx-rates"
        if isinstance(self.text, Exception):
            raise self.text
        return self.text


def source(secrets: Secrets, metrics: list[str], now: float = NOW) -> SsmRateSource:
    return SsmRateSource(
        secrets,
        "/phone-verify/dev/fx-rates",
        "USD",
        FakeClock(now),
        max_age_secs=WEEK,
        metric=metrics.append,
    )


def test_the_source_reads_the_parameter_and_parses_each_text_once() -> None:
    secrets = Secrets(table({"EUR": "1.08"}, updated_at=NOW).text())
    metrics: list[str] = []
    rates = source(secrets, metrics)
    first, second = rates.current(), rates.current()
    assert first is second  # parsed once (SecretSource caches the read itself)
    assert first.rate("EUR") == Decimal("1.08")
    assert metrics == []


@pytest.mark.parametrize(
    "text",
    [
        GetParameterError("ParameterNotFound"),
        "not json",
        '{"reference": "USD", "rates": {"EUR": "-1"}}',
        '{"reference": "EUR", "rates": {"USD": "0.93"}}',  # to another reference currency
    ],
)
def test_a_table_that_cannot_be_used_is_an_empty_one_and_counted(text: str | Exception) -> None:
    metrics: list[str] = []
    rates = source(Secrets(text), metrics).current()
    # Every currency but the reference then asks for a code; nothing raises
    assert (rates.reference, dict(rates.rates)) == ("USD", {})
    assert metrics == [METRIC_UNUSABLE]


def test_stale_rates_still_count_and_warn() -> None:
    metrics: list[str] = []
    stale = source(
        Secrets(table({"EUR": "1.08"}, updated_at=NOW).text()), metrics, NOW + 8 * 86_400
    )
    assert stale.current().rate("EUR") == Decimal("1.08")
    assert metrics == [METRIC_STALE]
