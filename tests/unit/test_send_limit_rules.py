"""The send-limit rules: what one number and one source count as."""

from __future__ import annotations

import pytest

from phoneverify.domain.phones import normalise_phone
from phoneverify.domain.send_limits import SendCaps, address_block, budget_shard_caps


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


@pytest.mark.parametrize(
    ("budget", "shards", "caps"),
    [
        (1_000, 10, [100] * 10),
        (25, 10, [3] * 5 + [2] * 5),
        (3, 10, [1, 1, 1]),  # never a shard that could only refuse
        (7, 1, [7]),
    ],
)
def test_the_budget_shards_add_up_to_exactly_the_budget(
    budget: int, shards: int, caps: list[int]
) -> None:
    split = budget_shard_caps(SendCaps(budget=budget, budget_shards=shards))
    assert split == caps
    assert sum(split) == budget
