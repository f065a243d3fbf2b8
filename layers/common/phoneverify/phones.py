"""Phone numbers: which ones a code may be sent to, in E.164, and as shown to people and logs."""

from __future__ import annotations

from collections.abc import Callable

import phonenumbers
from phonenumbers import PhoneNumber, PhoneNumberType

from phoneverify.errors import InvalidPhoneNumber

# Types that can receive an SMS. In the NANP (+1) phonenumbers cannot tell mobile from fixed
# line, so US numbers are FIXED_LINE_OR_MOBILE; the 555-01XX numbers reserved for fiction
# (the demo's +14155550123) are valid numbers of that type too.
SMS_CAPABLE_TYPES = frozenset({PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE_OR_MOBILE})


def _not_sms_capable(number: PhoneNumber) -> str | None:
    if phonenumbers.number_type(number) not in SMS_CAPABLE_TYPES:
        return "Phone number must be a mobile number"
    return None


# Each check answers why a valid number is refused, or None. Add country and number-type
# rules here; normalise_phone applies them in order.
PHONE_CHECKS: tuple[Callable[[PhoneNumber], str | None], ...] = (_not_sms_capable,)


def normalise_phone(raw: str, default_region: str = "US") -> str:
    """The E.164 form of a number a person typed, if a code may be sent to it.

    International (`+1 415-555-0123`) and national forms in `default_region`
    (`(415) 555-0123`) are the same number. Raises InvalidPhoneNumber (field
    `phone_number`) when it is not a valid number, has an extension, or a check refuses it.
    """
    try:
        number = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        raise InvalidPhoneNumber() from None
    if not phonenumbers.is_valid_number(number) or number.extension:
        raise InvalidPhoneNumber()
    for check in PHONE_CHECKS:
        reason = check(number)
        if reason is not None:
            raise InvalidPhoneNumber(reason)
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


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
