"""Abuse rules for sending codes (docs/abuse-controls.md): the caps per phone number, source
address and account, the service-wide SMS budget, the caps on voice calls (docs/channels.md),
the counters one send counts in, and the answer when one of them is full. The DynamoDB
adapter (adapters/dynamo/send_limits.py) and the in-memory fake both count by these rules.

Every code is counted in one of three tiers that never refuse each other (SendTier): codes
asked by someone who passed a check, codes for a password reset, codes to numbers nobody has
proven yet. Each tier has its own share of the budget and its own per-phone, per-source and
per-account counters, so a campaign against sign-up cannot stop anyone's sign-in.

Counter keys never hold a phone number or an address in clear: phone numbers (in E.164) and
source addresses (IPv6 by /64, the block one subscriber gets) are SHA-256 digests.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from phoneverify.domain.errors import ChallengeRequired, SendBudgetExhausted, SendLimitReached
from phoneverify.domain.keyed import digest
from phoneverify.domain.models import Channel, RequestOrigin
from phoneverify.domain.phones import normalise_phone
from phoneverify.domain.tiers import DEFAULT_SHARES, SendTier

GLOBAL = "global"
NOTICE_LAYER = "notice"
NOTICE_SUBJECT = "notice"  # notices count in no account's limit
NOTICE_ORIGIN = RequestOrigin(source_ip="-", user_agent="notices")
NOTICE_TIER = SendTier.VERIFIED
# Layers only a voice call counts in, on top of every other: calls per phone number and all
# calls of the service, per window.
CALL_PHONE = "call_phone"
CALL_BUDGET = "call_budget"
# Metric names (count metrics; the adapters send them to CloudWatch through Powertools).
METRIC_ADMITTED = "SmsSendsAdmitted"
# The same send under its tier: the dashboard's budget use per tier (docs/operations.md).
METRIC_TIER_ADMITTED = "SmsSendsAdmitted_{tier}"
METRIC_BUDGET_EXHAUSTED = "SmsBudgetExhausted"
METRIC_REFUSED = "SendRefused_{layer}"
METRIC_TIER_EXHAUSTED = "SmsBudgetExhausted_{tier}"


@dataclass(frozen=True)
class SendCaps:
    """Sends allowed per window, per layer; `budget` is the whole service's, counted in
    `budget_shards` items (see `budget_shard_caps`). Calls count in every layer (they share
    the limits and the budget) and in two of their own."""

    per_phone: int = 10
    per_ip: int = 30
    per_account: int = 10
    budget: int = 1_000
    window_secs: int = 3_600
    budget_shards: int = 10
    # Notices (docs/phone-lifecycle.md#notices) per number and window: a counter of their own.
    notices_per_phone: int = 5
    calls_per_phone: int = 3
    call_budget: int = 100
    # Each tier's share of `budget` and of `call_budget`, in percent (adding up to 100).
    shares: Mapping[SendTier, int] = field(default_factory=lambda: DEFAULT_SHARES)
    # Notices use the verified tier's budget but leave it this last share to codes: a notice
    # may wait (it is refused, and audited), a code to a proven phone may not.
    notice_reserve_percent: int = 10
    # With the proof-of-work gate on, a source past this share of its cap is asked for a
    # solved challenge before its next code (docs/abuse-controls.md#the-proof-of-work-gate).
    challenge_risk_percent: int = 50


def split(total: int, shares: Mapping[SendTier, int]) -> dict[SendTier, int]:
    """`total` split by `shares` (percent) so the parts add up to exactly `total`: each its
    share rounded down, the rest one each to the largest remainders (ties in tier order)."""
    exact = {tier: total * shares.get(tier, 0) / 100 for tier in SendTier}
    parts = {tier: math.floor(value) for tier, value in exact.items()}
    rest = total - sum(parts.values())
    by_remainder = sorted(SendTier, key=lambda tier: parts[tier] - exact[tier])
    for tier in by_remainder[: max(0, rest)]:
        parts[tier] += 1
    return parts


def tier_budget(caps: SendCaps, tier: SendTier) -> int:
    """The tier's hourly SMS budget: its share of the whole service's `budget`, at least one."""
    return max(1, split(caps.budget, caps.shares)[tier])


def budget_shard_caps(caps: SendCaps, tier: SendTier = SendTier.VERIFIED) -> list[int]:
    """The cap of each of a tier's global counters: its budget split as evenly as it goes, so
    the caps add up to exactly the tier's budget and the sends admitted in a window can never
    exceed it. No more shards than sends in the budget (a shard of cap 0 could only refuse)."""
    budget = tier_budget(caps, tier)
    count = max(1, min(caps.budget_shards, budget))
    share, rest = divmod(budget, count)
    return [share + (1 if shard < rest else 0) for shard in range(count)]


def risk_cap(cap: int, caps: SendCaps) -> int:
    """Sends a source may ask for without a solved challenge, where the gate is on."""
    return max(1, math.ceil(cap * caps.challenge_risk_percent / 100))


def address_block(source_ip: str) -> str:
    """The unit a source is counted in: an IPv4 address, an IPv6 /64 (one subscriber's
    block, so rotating addresses inside it does not help), else the text as given."""
    try:
        address = ipaddress.ip_address(source_ip.strip())
    except ValueError:
        return source_ip.strip().lower()
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


def window_start(now: float, window_secs: int) -> int:
    return int(now // window_secs) * window_secs


def send_counters(
    caps: SendCaps,
    phone_number: str,
    subject: str,
    origin: RequestOrigin,
    now: float,
    channel: Channel = Channel.SMS,
    shard: int = 0,
    tier: SendTier = SendTier.VERIFIED,
    *,
    at_risk: bool = False,
) -> list[tuple[str, str, int]]:
    """(layer, key, cap) of every counter one send of `tier` counts in, in transaction order;
    the budget's through the tier's global counter `shard` (0 <= shard <
    len(budget_shard_caps(caps, tier))). `at_risk`: the gate is on and no solved challenge
    came, so the source's cap is its risk cap (a refusal by it asks for a challenge)."""
    window = window_start(now, caps.window_secs)
    phone = normalise_phone(phone_number, None, strict=False)
    per_ip = risk_cap(caps.per_ip, caps) if at_risk else caps.per_ip
    counters = [
        ("phone", f"phone#{tier}#{digest(phone)}#{window}", caps.per_phone),
        ("ip", f"ip#{tier}#{digest(address_block(origin.source_ip))}#{window}", per_ip),
        ("account", f"account#{tier}#{subject}#{window}", caps.per_account),
        (GLOBAL, f"global#{tier}#{window}#{shard}", budget_shard_caps(caps, tier)[shard]),
    ]
    if channel is Channel.CALL:
        call_budget = max(1, split(caps.call_budget, caps.shares)[tier])
        counters += [
            (CALL_PHONE, f"call#{tier}#{digest(phone)}#{window}", caps.calls_per_phone),
            (CALL_BUDGET, f"callbudget#{tier}#{window}", call_budget),
        ]
    return counters


def notice_counters(
    caps: SendCaps, phone_number: str, now: float, shard: int = 0
) -> list[tuple[str, str, int]]:
    """(layer, key, cap) of every counter one notice counts in: the number's notice cap and
    the very budget counter a verified code counts in (taken from `send_counters`, so both
    always share it) under a lower cap that leaves codes the reserve, but none of the
    per-phone, per-source or per-account code limits."""
    window = window_start(now, caps.window_secs)
    phone = normalise_phone(phone_number, None, strict=False)
    budget = [
        (layer, key, notice_cap(cap, caps))
        for layer, key, cap in send_counters(
            caps, phone, NOTICE_SUBJECT, NOTICE_ORIGIN, now, Channel.SMS, shard, NOTICE_TIER
        )
        if layer == GLOBAL
    ]
    return [(NOTICE_LAYER, f"notice#{digest(phone)}#{window}", caps.notices_per_phone), *budget]


def notice_cap(shard_cap: int, caps: SendCaps) -> int:
    """What a notice may fill of a budget shard: all but the codes' reserve (a shard too small
    to keep one back is shared as it is)."""
    return max(1, math.ceil(shard_cap * (100 - caps.notice_reserve_percent) / 100))


def refusal(
    refused_layers: list[str], caps: SendCaps, now: float, *, at_risk: bool = False
) -> SendLimitReached | SendBudgetExhausted | ChallengeRequired:
    """The error for a send refused by `refused_layers`: the circuit breaker's first (it says
    the truth: nobody of this tier gets a code now), then, for a send `at_risk` refused by
    its source's risk cap, a request for a solved challenge; else one answer for every other
    layer (the call caps included: SMS still works, so a spent call budget is no 503)."""
    retry_after = math.ceil(window_start(now, caps.window_secs) + caps.window_secs - now)
    if GLOBAL in refused_layers:
        return SendBudgetExhausted(retry_after)
    if at_risk and refused_layers == ["ip"]:
        return ChallengeRequired()
    return SendLimitReached(max(1, retry_after))
