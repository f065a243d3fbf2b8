"""Exchange rates to one reference currency, for the cumulative limit of payments made without
a code (PSD2 RTS Art. 16; docs/payments.md#one-cumulative-limit-across-currencies).

The operators keep the table (`python -m ops rates set EUR 1.08`); it is one SSM String
parameter holding a JSON object:

    {"reference": "USD", "rates": {"EUR": "1.08", "GBP": "1.27"}, "updated_at": 1765000000,
     "updated_by": "arn:aws:sts::123456789012:assumed-role/FraudOperator/alice"}

A rate is how many units of the reference currency one unit of the currency is worth (EUR
1.08: 1 EUR = 1.08 USD). A payment's amount is converted at the rate of the request and rounded
UP to the reference currency's minor units, so a sum of converted slices is never below the
converted whole: splitting a payment cannot round under the limit. A currency without a rate
is not converted at all: its payments always ask for a code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, Decimal, InvalidOperation, localcontext
from types import MappingProxyType
from typing import Any

from phoneverify.domain.money import CURRENCY_MINOR_UNITS, Money

DEFAULT_REFERENCE_CURRENCY = "USD"
# A rate: a positive decimal string of at most MAX_RATE_DECIMALS decimals (0.000000023 is one
# IRR in a strong currency) below 10^MAX_RATE_INTEGER_DIGITS (one USD in IRR, were IRR the
# reference). Twelve decimals and nine integer digits keep every product exact below.
MAX_RATE_DECIMALS = 12
MAX_RATE_INTEGER_DIGITS = 9
MAX_RATE_TEXT = MAX_RATE_INTEGER_DIGITS + 1 + MAX_RATE_DECIMALS
_RATE_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
# An SSM Standard parameter holds 4 KB: about 150 currencies at 12 decimals each.
MAX_TABLE_BYTES = 4_096
# Amounts below 10^12 with 3 decimals times rates of 9 + 12 digits: 36 digits, exact at 60.
_PRECISION = 60


class InvalidRate(ValueError):
    """A rate, a currency or a table that cannot be used: the message names the value."""


def parse_rate(text: object, currency: str = "rate") -> Decimal:
    """A rate from its decimal string: positive, finite, at most MAX_RATE_DECIMALS decimals
    and MAX_RATE_INTEGER_DIGITS integer digits. `currency` names it in the message."""
    if not isinstance(text, str):
        raise InvalidRate(f"{currency}: a rate is a decimal string such as '1.08', not {text!r}")
    raw = text.strip()
    if len(raw) > MAX_RATE_TEXT or not _RATE_TEXT.fullmatch(raw):
        raise InvalidRate(
            f"{currency}: not a rate: {text!r} (expected a positive decimal such as 1.08, "
            f"at most {MAX_RATE_DECIMALS} decimals)"
        )
    whole, _, decimals = raw.partition(".")
    if len(decimals) > MAX_RATE_DECIMALS:
        raise InvalidRate(f"{currency}: {text!r} has more than {MAX_RATE_DECIMALS} decimals")
    if len(whole.lstrip("0")) > MAX_RATE_INTEGER_DIGITS:
        raise InvalidRate(f"{currency}: {text!r} is too large (below 10^{MAX_RATE_INTEGER_DIGITS})")
    try:
        rate = Decimal(raw)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        raise InvalidRate(f"{currency}: not a rate: {text!r}") from None
    if rate <= 0:
        raise InvalidRate(f"{currency}: a rate must be greater than zero, not {text!r}")
    return rate


def parse_rate_currency(text: object) -> str:
    """An active ISO 4217 code (upper case), as payments name them."""
    code = text.strip().upper() if isinstance(text, str) else ""
    if len(code) != 3 or code not in CURRENCY_MINOR_UNITS:
        raise InvalidRate(f"not a currency: {text!r} (expected an ISO 4217 code such as EUR)")
    return code


def rate_text(rate: Decimal) -> str:
    """A rate as the table keeps it: plain decimal notation, no exponent, no trailing zeros
    beyond the first decimal ("1.08", "0.0067", "3.0")."""
    text = format(rate.normalize(), "f")
    return text if "." in text else text + ".0"


@dataclass(frozen=True)
class RateTable:
    """The rates of the table, to `reference`; `updated_at` epoch seconds (None: never set)."""

    reference: str = DEFAULT_REFERENCE_CURRENCY
    rates: Mapping[str, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    updated_at: int | None = None
    updated_by: str | None = None

    def rate(self, currency: str) -> Decimal | None:
        """Units of the reference currency per unit of `currency`: 1 for the reference
        itself, None for a currency without a rate."""
        if currency == self.reference:
            return Decimal(1)
        return self.rates.get(currency)

    def to_reference_minor(self, money: Money) -> int | None:
        """`money` in the reference currency's minor units, rounded up; None without a rate."""
        rate = self.rate(money.currency)
        return None if rate is None else convert_minor(money.amount, rate, self.reference)

    def stale(self, now: float, max_age_secs: int) -> bool:
        """True when rates are held and were last set more than `max_age_secs` ago."""
        if not self.rates:
            return False
        return self.updated_at is None or now - self.updated_at > max_age_secs

    # -- the parameter's text ------------------------------------------------------------
    @classmethod
    def parse(cls, text: str) -> RateTable:
        """The table of the parameter's JSON text; InvalidRate naming what is wrong."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            raise InvalidRate("the rate table is not JSON") from None
        if not isinstance(data, dict):
            raise InvalidRate("the rate table is not a JSON object")
        reference = parse_rate_currency(data.get("reference", DEFAULT_REFERENCE_CURRENCY))
        raw_rates = data.get("rates", {})
        if not isinstance(raw_rates, dict):
            raise InvalidRate("the rate table's rates are not a JSON object")
        rates: dict[str, Decimal] = {}
        for name, value in raw_rates.items():
            currency = parse_rate_currency(name)
            if currency == reference:
                raise InvalidRate(f"{currency} is the reference currency: its rate is 1")
            rates[currency] = parse_rate(value, currency)
        updated_at = data.get("updated_at")
        stamp = None
        if updated_at is not None:
            if not str(updated_at).isdigit():
                raise InvalidRate(f"updated_at: not epoch seconds: {updated_at!r}")
            stamp = int(str(updated_at))
        updated_by = data.get("updated_by")
        return cls(
            reference,
            MappingProxyType(dict(sorted(rates.items()))),
            stamp,
            str(updated_by) if updated_by is not None else None,
        )

    def as_json(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "reference": self.reference,
            "rates": {code: rate_text(rate) for code, rate in sorted(self.rates.items())},
        }
        if self.updated_at is not None:
            values["updated_at"] = self.updated_at
        if self.updated_by is not None:
            values["updated_by"] = self.updated_by
        return values

    def text(self) -> str:
        """The parameter's value (compact JSON); InvalidRate when over MAX_TABLE_BYTES."""
        text = json.dumps(self.as_json(), separators=(",", ":"), sort_keys=True)
        if len(text.encode("utf-8")) > MAX_TABLE_BYTES:
            raise InvalidRate(
                f"the rate table would be {len(text.encode())} bytes: an SSM Standard "
                f"parameter holds {MAX_TABLE_BYTES} (unset currencies no payment uses)"
            )
        return text


def convert_minor(amount: Decimal, rate: Decimal, reference: str) -> int:
    """`amount` times `rate`, in the minor units of `reference`, rounded up (exact: no
    intermediate rounding). 0.01 EUR at 1.08 is 2 US cents, never 1."""
    with localcontext() as context:
        context.prec = _PRECISION
        scaled = (amount * rate).scaleb(CURRENCY_MINOR_UNITS[reference])
        return int(scaled.to_integral_value(rounding=ROUND_CEILING))
