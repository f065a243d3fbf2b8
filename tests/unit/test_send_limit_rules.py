"""The send-limit rules: what one number and one source count as."""

from __future__ import annotations

import pytest

from phoneverify.domain.phones import normalise_phone
from phoneverify.domain.send_limits import address_block


# -- keys and wiring -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("typed", "e164"),
    [("+1 (415) 555-0123", "+14155550123"), ("+44 7400 123456", "+447400123456")],
)
def test_a_number_counts_under_its_e164_form(typed: str, e164: str) -> None:
    assert normalise_phone(typed, None, strict=False) == e164


@pytest.mark.parametrize(
    ("address", "block"),
    [
        ("203.0.113.9", "203.0.113.9"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("::ffff:203.0.113.9", "203.0.113.9"),
        ("unknown", "unknown"),
    ],
)
def test_sources_are_counted_by_address_or_ipv6_64(address: str, block: str) -> None:
    assert address_block(address) == block
