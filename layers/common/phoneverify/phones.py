"""Phone numbers as shown to people and logs."""

from __future__ import annotations

import phonenumbers


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
