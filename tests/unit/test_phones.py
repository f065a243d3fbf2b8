from __future__ import annotations

import pytest

from phoneverify.domain.errors import InvalidPhoneNumber
from phoneverify.domain.phones import mask_phone, normalise_phone
from phoneverify.http.errors import error_body, status_of


@pytest.mark.parametrize(
    ("phone", "hint"),
    [
        ("+14155550123", "+1******0123"),
        ("+442079460958", "+44******0958"),
        ("+35312345678", "+353****5678"),
        ("12", "**"),
    ],
)
def test_hint_keeps_country_code_and_last_four_digits(phone: str, hint: str) -> None:
    assert mask_phone(phone) == hint


@pytest.mark.parametrize(
    "typed",
    ["+14155550123", "+1 415-555-0123", "(415) 555-0123", "415.555.0123", "1 415 555 0123"],
)
def test_the_ways_people_type_one_us_number_give_one_e164(typed: str) -> None:
    assert normalise_phone(typed, "US") == "+14155550123"


def test_national_numbers_are_read_in_the_default_region() -> None:
    assert normalise_phone("07400 123456", "GB") == "+447400123456"
    assert normalise_phone("+49 151 12345678", "GB") == "+4915112345678"


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("+18005550123", "Phone number must be a mobile number"),  # toll free
        ("+19005550123", "Phone number must be a mobile number"),  # premium rate
        ("+442079460958", "Phone number must be a mobile number"),  # UK fixed line
        ("+15555550123", "Invalid phone number"),  # no such area code
        ("12345", "Invalid phone number"),
        ("call me maybe", "Invalid phone number"),
        ("+1 415 555 0123 ext. 7", "Invalid phone number"),  # an SMS cannot reach an extension
        ("", "Invalid phone number"),
    ],
)
def test_numbers_a_code_cannot_reach_are_refused_naming_the_field(typed: str, message: str) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalise_phone(typed, "US")
    assert status_of(caught.value) == 400
    assert error_body(caught.value) == {
        "error": message,
        "code": "invalid_request",
        "field": "phone_number",
    }
