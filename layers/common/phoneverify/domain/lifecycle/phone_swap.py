"""A lost phone's swap (docs/phone-lifecycle.md#a-lost-phone), the one authoritative copy: the
swap recorded on the account once the email and the new number are proven, the wait before
it may bind, the owner's cancel, and its completion by whoever holds the flow.

A swap lives on the account's item (one at a time). It is *live* while it is pending and its
grace window (`expires_at`: `binds_at` + grace) is not over; a swap past its expiry is no swap,
whether or not anything wrote over it (expiry checked on read). Each transition is data
(`SwapTransition`): which swap it starts from and what it leaves; `applies` decides it for the
in-memory fake, and the DynamoDB adapter (adapters/dynamo/phone_swaps.py) builds its
condition expressions from the same fields. tests/integration/test_lifecycles.py walks them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum


class SwapStatus(StrEnum):
    PENDING = "pending"
    CANCELLED = "cancelled"
    COMPLETED = "completed"


@dataclass(frozen=True)
class PhoneSwap:
    """`swap_id`: a keyed digest of the flow id that may complete it (the table never holds
    a usable flow id). Times in whole seconds."""

    swap_id: str
    new_phone: str
    status: SwapStatus
    created_at: float
    binds_at: float
    expires_at: float

    def live(self, now: float) -> bool:
        return self.status is SwapStatus.PENDING and self.expires_at > now

    def waits_for(self, now: float) -> int:
        """Seconds before it may bind (0: it may)."""
        return max(0, math.ceil(self.binds_at - now))


@dataclass(frozen=True)
class SwapAsk:
    """What a transition is asked with: the time, and for a completion the swap's id."""

    now: float
    swap_id: str | None = None


@dataclass(frozen=True)
class SwapTransition:
    """`from_live`: True, only a live swap moves; False, only while none is live (a new one
    is recorded). `same_swap`: only the swap of the asking flow. `after_wait`: only once
    `binds_at` has come. `to`: the status it leaves."""

    name: str
    from_live: bool
    to: SwapStatus
    same_swap: bool = False
    after_wait: bool = False

    def applies(self, swap: PhoneSwap | None, ask: SwapAsk) -> bool:
        live = swap is not None and swap.live(ask.now)
        if live is not self.from_live:
            return False
        if self.same_swap and (swap is None or swap.swap_id != ask.swap_id):
            return False
        return not (self.after_wait and (swap is None or swap.binds_at > ask.now))


RECORD = SwapTransition("record", from_live=False, to=SwapStatus.PENDING)
CANCEL = SwapTransition("cancel", from_live=True, to=SwapStatus.CANCELLED)
COMPLETE = SwapTransition(
    "complete", from_live=True, to=SwapStatus.COMPLETED, same_swap=True, after_wait=True
)
TRANSITIONS = (RECORD, CANCEL, COMPLETE)


def after(swap: PhoneSwap, transition: SwapTransition) -> PhoneSwap:
    """The swap once `transition` moved it (RECORD writes a new one instead)."""
    return replace(swap, status=transition.to)


@dataclass(frozen=True)
class PhoneSwapRule:
    wait_secs: int  # LOST_PHONE_WAIT_SECS
    grace_secs: int  # after the wait, how long the flow may still complete it

    def opened(self, swap_id: str, new_phone: str, now: float) -> PhoneSwap:
        binds_at = math.ceil(now + self.wait_secs)
        return PhoneSwap(
            swap_id=swap_id,
            new_phone=new_phone,
            status=SwapStatus.PENDING,
            created_at=int(now),
            binds_at=binds_at,
            expires_at=binds_at + self.grace_secs,
        )
