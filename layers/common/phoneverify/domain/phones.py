"""Phone numbers: which ones a code may be sent to, in E.164, and as shown to people and logs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

from phoneverify.domain.errors import InvalidPhoneNumber, PhoneNotAllowed
from phoneverify.domain.regions import DEFAULT_ALLOWED_COUNTRIES

# Types that can receive an SMS. In the NANP (+1) phonenumbers cannot tell mobile from fixed
# line, so US numbers are FIXED_LINE_OR_MOBILE; the 555-01XX numbers reserved for fiction
# (the demo's +14155550123) are valid numbers of that type too. Everything else is refused:
# premium rate, shared cost, toll free, UAN, voicemail, pager, personal numbers, unknown
# types, fixed lines where they can be told apart, and VoIP unless a policy allows it.
SMS_CAPABLE_TYPES: frozenset[int] = frozenset(
    {PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE}
)


# Country calling codes of no country: satellite (+870 Inmarsat, +881 GMSS), international
# networks (+882, +883), international freephone, shared-cost and premium-rate services
# (+800, +808, +979) and the like. Refused whatever the allow-list says: SMS to them is
# expensive and a classic pumping destination.
NON_GEOGRAPHIC_CODES = frozenset(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS) | {
    800,
    808,
    870,
    878,
    881,
    882,
    883,
    888,
    979,
}

MOBILE_ONLY = "Phone number must be a mobile number"

# Further rules every policy applies after its own, in order: each answers why a valid
# number is refused, or None.
PHONE_CHECKS: tuple[Callable[[PhoneNumber], str | None], ...] = ()


@dataclass(frozen=True)
class PhonePolicy:
    """Which numbers a code may be sent to. Applied when a number is registered
    (normalise_phone) and again before every send, so a number stored before the policy
    changed cannot bypass it."""

    allowed_countries: frozenset[str] = DEFAULT_ALLOWED_COUNTRIES
    allow_voip: bool = False

    @property
    def allowed_types(self) -> frozenset[int]:
        """PhoneNumberType values a code may go to."""
        voip: frozenset[int] = frozenset({PhoneNumberType.VOIP})
        return SMS_CAPABLE_TYPES | voip if self.allow_voip else SMS_CAPABLE_TYPES

    def check(self, number: PhoneNumber) -> None:
        """Raise PhoneNotAllowed (country, non-geographic network) or InvalidPhoneNumber
        (a type that cannot receive a code) for a valid number this policy refuses."""
        region = phonenumbers.region_code_for_number(number)
        if number.country_code in NON_GEOGRAPHIC_CODES or region not in self.allowed_countries:
            raise PhoneNotAllowed()
        if phonenumbers.number_type(number) not in self.allowed_types:
            raise InvalidPhoneNumber(MOBILE_ONLY)
        for rule in PHONE_CHECKS:
            reason = rule(number)
            if reason is not None:
                raise InvalidPhoneNumber(reason)

    def ensure_allowed(self, phone_number: str) -> None:
        """Check a number already in E.164 (an account's, a pending flow's) as `check` does;
        one that no longer parses as a valid number is refused too (InvalidPhoneNumber)."""
        try:
            number = phonenumbers.parse(phone_number, None)
        except phonenumbers.NumberParseException:
            raise InvalidPhoneNumber() from None
        if not phonenumbers.is_valid_number(number) or number.extension:
            raise InvalidPhoneNumber()
        self.check(number)


DEFAULT_PHONE_POLICY = PhonePolicy()


def normalise_phone(
    raw: str,
    default_region: str | None = "US",
    policy: PhonePolicy | None = None,
    *,
    strict: bool = True,
) -> str:
    """The E.164 form of a number a person typed, if a code may be sent to it.

    International (`+1 415-555-0123`) and national forms in `default_region`
    (`(415) 555-0123`) are the same number. Raises InvalidPhoneNumber (field
    `phone_number`) when it is not a valid number, has an extension, or is of a type that
    cannot receive a code, and PhoneNotAllowed when `policy` (by default
    DEFAULT_PHONE_POLICY) refuses its country or network.

    `strict=False` is for counting a number (send limits), so one number written several
    ways counts once: it never raises, and a number that does not parse counts as its `+`
    and digits.
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        if not strict:
            return "".join(ch for ch in raw if ch.isdigit() or ch == "+")
        raise InvalidPhoneNumber() from None
    if strict:
        if not phonenumbers.is_valid_number(number) or number.extension:
            raise InvalidPhoneNumber()
        (policy or DEFAULT_PHONE_POLICY).check(number)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


HINT_MASK = "******"  # the hidden part of a last-four hint: the same for every number


def last_four_hint(phone_number: str) -> str:
    """Only the last four digits, behind a mask of one fixed length: +447700902333 ->
    ******2333. The shape of every number alike, so the hint tells neither the country nor
    the length (the password reset's, whose decoys must look like real accounts)."""
    digits = "".join(ch for ch in phone_number if ch.isdigit())
    return HINT_MASK + digits[-4:].rjust(4, "0")


def mask_phone(phone_number: str) -> str:
    """Keep the country code and the last four digits: +14155550123 -> +1******0123."""
    digits = "".join(ch for ch in phone_number if ch.isdigit())
    try:
        country_code = str(phonenumbers.parse(phone_number, None).country_code)
    except phonenumbers.NumberParseException:
        country_code = ""
    if len(digits) < len(country_code) + 4 or not digits.startswith(country_code):
        return "*" * len(digits)
    hidden = len(digits) - len(country_code) - 4
    return "+" + country_code + "*" * hidden + digits[-4:]
