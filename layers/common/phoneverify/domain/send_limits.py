"""Abuse rules for sending codes (docs/abuse-controls.md): the caps per phone number, source
address and account, the service-wide SMS budget, the caps on voice calls (docs/channels.md),
the counters one send counts in, and the answer when one of them is full. The DynamoDB
adapter (adapters/dynamo/send_limits.py) and the in-memory fake both count by these rules.

Counter keys never hold a phone number or an address in clear: phone numbers (in E.164) and
source addresses (IPv6 by /64, the block one subscriber gets) are SHA-256 digests.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
from dataclasses import dataclass

from phoneverify.domain.errors import SendBudgetExhausted, SendLimitReached
from phoneverify.domain.models import Channel, RequestOrigin
from phoneverify.domain.phones import normalise_phone

GLOBAL = "global"
NOTICE_LAYER = "notice"
NOTICE_SUBJECT = "notice"  # notices count in no account's limit
NOTICE_ORIGIN = RequestOrigin(source_ip="-", user_agent="notices")
# Layers only a voice call counts in, on top of every other: calls per phone number and all
# calls of the service, per window.
CALL_PHONE = "call_phone"
CALL_BUDGET = "call_budget"
# Metric names (count metrics; the adapters send them to CloudWatch through Powertools).
METRIC_ADMITTED = "SmsSendsAdmitted"
METRIC_BUDGET_EXHAUSTED = "SmsBudgetExhausted"
METRIC_REFUSED = "SendRefused_{layer}"


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


def budget_shard_caps(caps: SendCaps) -> list[int]:
    """The cap of each global counter: the budget split as evenly as it goes, so the caps add
    up to exactly `budget` and the sends admitted in a window can never exceed it. No more
    shards than sends in the budget (a shard of cap 0 could only refuse)."""
    count = max(1, min(caps.budget_shards, caps.budget))
    share, rest = divmod(caps.budget, count)
    return [share + (1 if shard < rest else 0) for shard in range(count)]


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


def digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


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
) -> list[tuple[str, str, int]]:
    """(layer, key, cap) of every counter one send counts in, in transaction order; the
    budget's through global counter `shard` (0 <= shard < len(budget_shard_caps(caps)))."""
    window = window_start(now, caps.window_secs)
    phone = normalise_phone(phone_number, None, strict=False)
    counters = [
        ("phone", f"phone#{digest(phone)}#{window}", caps.per_phone),
        ("ip", f"ip#{digest(address_block(origin.source_ip))}#{window}", caps.per_ip),
        ("account", f"account#{subject}#{window}", caps.per_account),
        (GLOBAL, f"global#{window}#{shard}", budget_shard_caps(caps)[shard]),
    ]
    if channel is Channel.CALL:
        counters += [
            (CALL_PHONE, f"call#{digest(phone)}#{window}", caps.calls_per_phone),
            (CALL_BUDGET, f"callbudget#{window}", caps.call_budget),
        ]
    return counters


def notice_counters(
    caps: SendCaps, phone_number: str, now: float, shard: int = 0
) -> list[tuple[str, str, int]]:
    """(layer, key, cap) of every counter one notice counts in: the number's notice cap and
    the very budget counter a code counts in (taken from `send_counters`, so both always
    share it), but none of the per-phone, per-source or per-account code limits."""
    window = window_start(now, caps.window_secs)
    phone = normalise_phone(phone_number, None, strict=False)
    budget = [
        counter
        for counter in send_counters(
            caps, phone, NOTICE_SUBJECT, NOTICE_ORIGIN, now, Channel.SMS, shard
        )
        if counter[0] == GLOBAL
    ]
    return [(NOTICE_LAYER, f"notice#{digest(phone)}#{window}", caps.notices_per_phone), *budget]


def refusal(
    refused_layers: list[str], caps: SendCaps, now: float
) -> SendLimitReached | SendBudgetExhausted:
    """The error for a send refused by `refused_layers`: the circuit breaker's first (it says
    the truth: nobody gets a code now), else one answer for every other layer (the call caps
    included: SMS still works, so a spent call budget is no reason for a 503)."""
    retry_after = math.ceil(window_start(now, caps.window_secs) + caps.window_secs - now)
    if GLOBAL in refused_layers:
        return SendBudgetExhausted(retry_after)
    return SendLimitReached(max(1, retry_after))
