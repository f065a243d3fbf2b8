"""The send-limit rules: what one number and one source count as."""

from __future__ import annotations

import pytest

from phoneverify.domain.models import RequestOrigin
from phoneverify.domain.phones import normalise_phone
from phoneverify.domain.send_limits import (
    NOTICE_ORIGIN,
    SendCaps,
    address_block,
    budget_shard_caps,
    notice_counters,
    send_counters,
    tier_budget,
)
from phoneverify.domain.tiers import SendTier


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
    # (the whole budget to one tier: the tiers' split is tested below)
    whole = {SendTier.VERIFIED: 100, SendTier.RESET: 0, SendTier.UNPROVEN: 0}
    split = budget_shard_caps(SendCaps(budget=budget, budget_shards=shards, shares=whole))
    assert split == caps
    assert sum(split) == budget


@pytest.mark.parametrize(
    ("budget", "verified", "reset", "unproven"),
    [(1_000, 500, 100, 400), (60, 30, 6, 24), (8, 4, 1, 3), (7, 3, 1, 3)],
)
def test_the_tiers_budgets_add_up_to_exactly_the_budget(
    budget: int, verified: int, reset: int, unproven: int
) -> None:
    caps = SendCaps(budget=budget)
    assert [tier_budget(caps, tier) for tier in SendTier] == [verified, reset, unproven]
    assert sum(tier_budget(caps, tier) for tier in SendTier) == budget


PHONE = "+14155550123"


def test_each_tier_counts_in_counters_of_its_own() -> None:
    origin = RequestOrigin(source_ip="203.0.113.9", user_agent=None)
    keys = {
        tier: {
            key
            for _, key, _ in send_counters(SendCaps(), "+14155550123", "u", origin, 0.0, tier=tier)
        }
        for tier in SendTier
    }
    assert not keys[SendTier.VERIFIED] & keys[SendTier.UNPROVEN]
    assert not keys[SendTier.VERIFIED] & keys[SendTier.RESET]
    assert not keys[SendTier.RESET] & keys[SendTier.UNPROVEN]


def test_a_notice_leaves_the_codes_their_reserve_of_the_verified_budget() -> None:
    caps = SendCaps(budget=200, budget_shards=1)  # verified: 100, in one shard
    [_, (layer, key, cap)] = notice_counters(caps, "+14155550123", 0.0)
    code_budget = [
        c for c in send_counters(caps, "+14155550123", "u", NOTICE_ORIGIN, 0.0) if c[0] == layer
    ]
    assert key == code_budget[0][1]  # the very counter codes count in
    assert (cap, code_budget[0][2]) == (90, 100)
