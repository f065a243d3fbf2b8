"""What an operator may name: a number prefix or a country, checked before anything is sent.

A refusal is `BadInput`, whose message is one line naming the value and what was expected;
the command answers it with exit status 2.
"""

from __future__ import annotations

import re
from decimal import Decimal
from enum import StrEnum

from phonenumbers import COUNTRY_CODE_TO_REGION_CODE

from phoneverify.domain.rates import InvalidRate, parse_rate, parse_rate_currency
from phoneverify.domain.regions import KNOWN_REGIONS

# E.164: at most 15 digits after "+"; a prefix is a number without at least its last digit.
_PREFIX = re.compile(r"\+([0-9]{1,14})")
_COUNTRY = re.compile(r"[A-Za-z]{2}")
MAX_HOLD_HOURS = 24 * 30  # a month; longer is a deny rule's job
MAX_AUDIT_RECORDS = 1_000


class BadInput(ValueError):
    """A value the command refuses, with a one-line message that names it."""


class Scope(StrEnum):
    """What a rule or a hold is about."""

    PREFIX = "prefix"
    COUNTRY = "country"


def parse_prefix(text: str) -> str:
    """A number prefix as the fraud guard stores it: "+" and 1 to 14 digits, beginning with a
    country calling code that exists (+1, +44, +979...)."""
    found = _PREFIX.fullmatch(text.strip())
    if found is None:
        raise BadInput(
            f"not a number prefix: {text!r} (expected '+' and 1 to 14 digits, e.g. +1415556)"
        )
    digits = found.group(1)
    if digits.startswith("0") or not any(
        int(digits[:n]) in COUNTRY_CODE_TO_REGION_CODE for n in range(1, 4)
    ):
        raise BadInput(f"not a number prefix: {text!r} (+{digits[:3]}... is no country code)")
    return "+" + digits


def parse_country(text: str) -> str:
    """An ISO 3166 alpha-2 country as phonenumbers names regions (upper case)."""
    code = text.strip().upper()
    if _COUNTRY.fullmatch(code) is None or code not in KNOWN_REGIONS:
        raise BadInput(
            f"not a country: {text!r} (expected an ISO 3166 alpha-2 code phone numbers "
            "are issued under, e.g. US, GB, JM)"
        )
    return code


def parse_target(scope: Scope, text: str) -> str:
    return parse_prefix(text) if scope is Scope.PREFIX else parse_country(text)


def parse_hours(text: str) -> int:
    """Hours of a hold an operator places: a whole number from 1 to MAX_HOLD_HOURS."""
    raw = text.strip()
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_HOLD_HOURS:
        raise BadInput(f"not a number of hours: {text!r} (expected 1 to {MAX_HOLD_HOURS})")
    return int(raw)


def parse_limit(text: str) -> int:
    """How many audit records to show: 1 to MAX_AUDIT_RECORDS."""
    raw = text.strip()
    if not raw.isascii() or not raw.isdigit() or not 1 <= int(raw) <= MAX_AUDIT_RECORDS:
        raise BadInput(f"not a number of records: {text!r} (expected 1 to {MAX_AUDIT_RECORDS})")
    return int(raw)


def parse_currency(text: str) -> str:
    """An active ISO 4217 currency code (upper case), as payments name them."""
    try:
        return parse_rate_currency(text)
    except InvalidRate as exc:
        raise BadInput(str(exc)) from None


def parse_exchange_rate(text: str, currency: str) -> Decimal:
    """A rate to the reference currency: a positive decimal of bounded precision (0 and
    negatives refused; domain/rates.py)."""
    try:
        return parse_rate(text, currency)
    except InvalidRate as exc:
        raise BadInput(str(exc)) from None
