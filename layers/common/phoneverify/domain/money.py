"""Money: exact `Decimal` amounts in ISO 4217 currencies, and the step-up thresholds.

Amounts arrive as decimal strings ("250.00") or JSON numbers (250, 250.5); both become a
`Decimal` through `str()`, so a float is read as the digits that were sent. An amount may not
have more decimals than its currency's minor units (none for JPY, two for USD, three for KWD),
and is shown quantised to them ("250.00", "250", "250.000").
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from phoneverify.domain.errors import InvalidRequest
from phoneverify.domain.models import Channel

# ISO 4217 List One (maintenance agency: SIX Financial Information), currencies in effect in
# 2025 with their minor units. Left out: fund codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI,
# UYW), units of account and metals without minor units (XDR, XSU, XUA, XAU, XAG, XPD, XPT,
# XBA-XBD, XTS, XXX), and withdrawn codes (HRK, SLL, ZWL, ANG, CUC, VEF, MRO, STD).
_CODES_BY_MINOR_UNITS = {
    0: "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX VND VUV XAF XOF XPF",
    2: (
        "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BRL BSD BTN BWP BYN "
        "BZD CAD CDF CHF CNY COP CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL "
        "GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK "
        "LBP LKR LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO "
        "NOK NPR NZD PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE "
        "SOS SRD SSP STN SVC SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD UYU UZS VED VES "
        "WST XCD XCG YER ZAR ZMW ZWG"
    ),
    3: "BHD IQD JOD KWD LYD OMR TND",
}
CURRENCY_MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {code: units for units, codes in _CODES_BY_MINOR_UNITS.items() for code in codes.split()}
)

# Step-up thresholds where "100 units" would be far from about USD 100: currencies whose unit
# is worth more than a US dollar (so the default never lets more than about USD 100 through
# without a code), and JPY/KRW (where 100 units is a coffee). Round figures at or below USD
# 100 at 2025 rates. PAYMENT_THRESHOLDS overrides any of them; any other currency uses
# PAYMENT_DEFAULT_THRESHOLD ("100.00") in its own units, which asks for a code more often,
# never less.
BUILTIN_THRESHOLDS: Mapping[str, str] = MappingProxyType(
    {
        "USD": "100.00",
        "EUR": "90.00",
        "CHF": "85.00",
        "GBP": "75.00",
        "GIP": "75.00",
        "FKP": "75.00",
        "SHP": "75.00",
        "KYD": "80.00",
        "JOD": "70.000",
        "KWD": "30.000",
        "BHD": "37.000",
        "OMR": "38.000",
        "JPY": "15000",
        "KRW": "130000",
    }
)

MAX_INTEGER_DIGITS = 12  # amounts below 10^12 major units
MAX_AMOUNT_TEXT = 32
_DECIMAL_TEXT = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
_CURRENCY_TEXT = re.compile(r"[A-Za-z]{3}", re.ASCII)


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    @property
    def minor_units(self) -> int:
        return CURRENCY_MINOR_UNITS[self.currency]

    @property
    def minor(self) -> int:
        """The amount in minor units: 250.00 USD is 25000, 1500 JPY is 1500."""
        return to_minor(self.amount, self.currency)

    @property
    def text(self) -> str:
        """The amount quantised to the currency's minor units: "250.00", "250", "250.000"."""
        return str(self.amount.quantize(Decimal(1).scaleb(-self.minor_units)))


def to_minor(amount: Decimal, currency: str) -> int:
    """`amount` in the currency's minor units, rounded up (a limit of 100.5 JPY is 101)."""
    scaled = amount.scaleb(CURRENCY_MINOR_UNITS[currency])
    return int(scaled.to_integral_value(rounding=ROUND_CEILING))


def _invalid(field: str, message: str) -> InvalidRequest:
    return InvalidRequest(f"{field} {message}", field=field)


def parse_currency(value: object, field: str = "currency") -> str:
    """An active ISO 4217 code (case-insensitive on input, upper case out)."""
    if not isinstance(value, str) or not _CURRENCY_TEXT.fullmatch(value.strip()):
        raise _invalid(field, "must be a three-letter ISO 4217 currency code")
    code = value.strip().upper()
    if code not in CURRENCY_MINOR_UNITS:
        raise _invalid(field, f"{code} is not a supported currency")
    return code


def parse_decimal(value: object, field: str = "amount") -> Decimal:
    """A positive, finite decimal from a decimal string or a JSON number (never a bool)."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float, Decimal)):
        raise _invalid(field, 'must be a decimal string such as "250.00" or a number')
    if isinstance(value, str):
        text = value.strip()
        if len(text) > MAX_AMOUNT_TEXT:
            raise _invalid(field, "is too long")
        if text.startswith("-"):
            raise _invalid(field, "must be greater than zero")
        if not _DECIMAL_TEXT.fullmatch(text):
            raise _invalid(field, 'must be a decimal string such as "250.00"')
    else:
        text = str(value)  # 0.1 -> "0.1": the digits that were sent, not the binary float
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise _invalid(field, "must be a number") from None
    if not amount.is_finite():
        raise _invalid(field, "must be a finite number")
    if amount <= 0:
        raise _invalid(field, "must be greater than zero")
    if amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise _invalid(field, "is too large")
    return amount


def parse_money(amount: object, currency: object) -> Money:
    """Money from request values; InvalidRequest naming `amount` or `currency`."""
    code = parse_currency(currency)
    value = parse_decimal(amount)
    minor_units = CURRENCY_MINOR_UNITS[code]
    if value != value.quantize(Decimal(1).scaleb(-minor_units)):
        places = "no decimals" if minor_units == 0 else f"at most {minor_units} decimals"
        raise _invalid("amount", f"must have {places} in {code}")
    return Money(value, code)


@dataclass(frozen=True)
class Thresholds:
    """At or above its currency's threshold, a payment needs a code."""

    by_currency: Mapping[str, Decimal]
    default: Decimal

    def for_currency(self, currency: str) -> Decimal:
        return self.by_currency.get(currency, self.default)

    def requires_verification(self, money: Money) -> bool:
        return money.amount >= self.for_currency(money.currency)

    @classmethod
    def from_config(cls, overrides: Mapping[str, str], default: str) -> Thresholds:
        """The built-in table, overridden per currency; raises InvalidRequest on a bad entry."""
        table = {**BUILTIN_THRESHOLDS, **{k.strip().upper(): v for k, v in overrides.items()}}
        by_currency = {code: parse_money(value, code).amount for code, value in table.items()}
        return cls(by_currency, parse_decimal(default, "PAYMENT_DEFAULT_THRESHOLD"))


DEFAULT_MAX_EXEMPT_PAYMENTS = 5


@dataclass(frozen=True)
class ExemptionLimits:
    """PSD2 RTS Art. 16, the low-value exemption: payments below the threshold go through
    without a code only while those completed that way since the account's last verified
    payment, converted to the one `reference` currency (domain/rates.py), stay below
    `cumulative_limit` (an amount in `reference`), and number fewer than `max_payments`.
    One sum across currencies: slices in five currencies count as one budget, not five."""

    reference: str
    cumulative_limit: Decimal
    max_payments: int = DEFAULT_MAX_EXEMPT_PAYMENTS

    @property
    def cumulative_limit_minor(self) -> int:
        """The limit in the reference currency's minor units."""
        return to_minor(self.cumulative_limit, self.reference)

    @classmethod
    def from_config(
        cls,
        overrides: Mapping[str, str],
        max_payments: int,
        *,
        reference: str = "USD",
        thresholds: Thresholds | None = None,
    ) -> ExemptionLimits:
        """The limit of `overrides` (PAYMENT_CUMULATIVE_LIMITS) for the reference currency,
        or by default the reference currency's threshold. A limit named in another currency
        is refused (InvalidRequest): there is one limit, in the reference currency."""
        code = parse_currency(reference, "PAYMENT_REFERENCE_CURRENCY")
        named = {key.strip().upper(): value for key, value in overrides.items()}
        others = sorted(set(named) - {code})
        if others:
            raise InvalidRequest(
                f"PAYMENT_CUMULATIVE_LIMITS names {', '.join(others)}: the cumulative limit "
                f"is one amount in the reference currency {code}",
                field="PAYMENT_CUMULATIVE_LIMITS",
            )
        if code in named:
            limit = parse_money(named[code], code).amount
        else:
            limit = (thresholds or Thresholds.from_config({}, "100.00")).for_currency(code)
        return cls(code, limit, max_payments)


@dataclass(frozen=True)
class PaymentOrder:
    """What the person asked for, validated."""

    money: Money
    recipient: str
    description: str | None
    channel: Channel | None = None  # how a code, if one is needed, goes (None: SMS)

    @classmethod
    def parse(
        cls,
        amount: object,
        currency: object,
        recipient: str,
        description: str | None,
        channel: Channel | None = None,
    ) -> PaymentOrder:
        """Raises InvalidRequest naming `amount` or `currency`."""
        return cls(parse_money(amount, currency), recipient, description or None, channel)

    def canonical(self) -> dict[str, Any]:
        """The request as compared by Idempotency-Key ("250" and 250.0 USD are the same).
        A channel is part of it only when one was asked for, so keys kept before channels
        existed still match their repeats."""
        canonical: dict[str, Any] = {
            "amount": self.money.text,
            "currency": self.money.currency,
            "recipient": self.recipient,
            "description": self.description,
        }
        if self.channel is not None:
            canonical["channel"] = self.channel.value
        return canonical
