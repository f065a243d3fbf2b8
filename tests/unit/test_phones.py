from __future__ import annotations

import pytest

from phoneverify.phones import mask_phone


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
