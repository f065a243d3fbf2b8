"""The fraud guard's rules (docs/abuse-controls.md#the-fraud-guard): which prefix a number is
in, when codes to a prefix are held, and operators' allow and deny lists.

SMS pumping sends codes to numbers the attacker earns from, usually a few ranges of one
carrier, and never enters them; real people enter most of theirs. So codes to numbers nobody
has proven yet (sign-up, a new number) are counted per prefix, the number without its last
digits: codes sent and codes verified, per window. A prefix that got at least `min_codes` in
the window while under `min_conversion_percent` of them were entered gets no further code for
`hold_secs`. A country is held only when `country_min_prefixes` of its prefixes were held in
one window: a campaign against a few prefixes never refuses a country's other sign-ups.

The conversion test needs no read and no arithmetic DynamoDB cannot do: each code sent adds
`min_conversion_percent` to the prefix's `deficit` and each code verified takes 100 away, so
`deficit > 0` exactly when verified / sent < min_conversion_percent / 100.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from phoneverify.domain.errors import PhoneNotAllowed, PrefixHeld

HOLD_PREFIX = "prefix"
HOLD_COUNTRY = "country"
RULES_KEY = "rules#fraud"
RULE_LISTS = ("allow_prefixes", "deny_prefixes", "allow_countries", "deny_countries")


@dataclass(frozen=True)
class FraudPolicy:
    digits_dropped: int = 4
    min_codes: int = 8
    min_conversion_percent: int = 20
    window_secs: int = 3_600
    hold_secs: int = 6 * 3_600
    country_min_prefixes: int = 5


@dataclass(frozen=True)
class Destination:
    """Where a code to an unproven number goes, as the fraud guard counts it."""

    phone_number: str  # E.164
    prefix: str  # E.164 without its last `digits_dropped` digits, "+" kept
    country: str  # ISO 3166 alpha-2 as phonenumbers names regions ("ZZ" when unknown)


def destination(phone_number: str, policy: FraudPolicy) -> Destination:
    """The number's prefix and country. phonenumbers is loaded here, with the request's first
    number, never at a cold start (docs/performance.md)."""
    import phonenumbers

    digits = phone_number.lstrip("+")
    keep = max(1, len(digits) - policy.digits_dropped)
    try:
        parsed = phonenumbers.parse(phone_number, None)
        country = phonenumbers.region_code_for_number(parsed) or "ZZ"
    except phonenumbers.NumberParseException:
        country = "ZZ"
    return Destination(phone_number, "+" + digits[:keep], country)


@dataclass(frozen=True)
class FraudRules:
    """Operators' lists (the `rules#fraud` item): a prefix entry matches every number that
    starts with it ("+1415" or "+1415556"), a country entry every number of that region.
    Allowed destinations are never held; denied ones get no code to an unproven number."""

    allow_prefixes: frozenset[str] = field(default_factory=frozenset)
    deny_prefixes: frozenset[str] = field(default_factory=frozenset)
    allow_countries: frozenset[str] = field(default_factory=frozenset)
    deny_countries: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def from_item(cls, item: Mapping[str, Any] | None) -> FraudRules:
        item = item or {}

        def listed(name: str) -> frozenset[str]:
            return frozenset(str(value) for value in item.get(name) or ())

        return cls(*(listed(name) for name in RULE_LISTS))

    def denies(self, where: Destination) -> bool:
        return where.country in self.deny_countries or _matches(where, self.deny_prefixes)

    def allows(self, where: Destination) -> bool:
        return where.country in self.allow_countries or _matches(where, self.allow_prefixes)


def _matches(where: Destination, prefixes: Iterable[str]) -> bool:
    return any(where.phone_number.startswith(prefix) for prefix in prefixes)


def ensure_not_denied(rules: FraudRules, where: Destination) -> None:
    """A denied destination is answered as the phone policy answers a number it refuses."""
    if rules.denies(where):
        raise PhoneNotAllowed()


def window_of(now: float, policy: FraudPolicy) -> int:
    return int(now // policy.window_secs) * policy.window_secs


def prefix_counter_key(prefix: str, window: int) -> str:
    return f"prefix#{prefix}#{window}"


def hold_key(scope: str, target: str) -> str:
    return f"hold#{scope}#{target}"


def held_prefixes_key(country: str, window: int) -> str:
    """How many of a country's prefixes were held in one window (the country's hold rule)."""
    return f"heldprefixes#{country}#{window}"


def hold_until(now: float, policy: FraudPolicy) -> int:
    return math.ceil(now + policy.hold_secs)


def held(until: float | None, now: float, policy: FraudPolicy) -> PrefixHeld:
    """The answer while a hold lasts until `until` (the policy's whole hold when unknown)."""
    left = policy.hold_secs if until is None else math.ceil(until - now)
    return PrefixHeld(max(1, min(left, policy.hold_secs)))


class PrefixTripped(PrefixHeld):
    """The send that found its prefix over the rule: nothing was counted, and the prefix (and
    maybe its country) is to be held now (PrefixGuard.hold). Answered as PrefixHeld."""

    def __init__(self, where: Destination, retry_after: int) -> None:
        self.where = where
        super().__init__(retry_after)


@dataclass(frozen=True)
class Hold:
    """A hold just placed: `scope` is HOLD_PREFIX or HOLD_COUNTRY, `target` the prefix or the
    country, in force until `until` (epoch seconds)."""

    scope: str
    target: str
    until: int
