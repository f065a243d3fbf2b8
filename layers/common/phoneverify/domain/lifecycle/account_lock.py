"""The wrong-code account lock (docs/abuse-controls.md), the one authoritative copy: wrong
codes counted per account, the lock at the threshold, how long it lasts, and the pure
functions that decide each write.

Each counted failure moves the count's expiry to `lockout_secs` later, so failures count as
consecutive while they come less than `lockout_secs` apart, and a lock (the count at
`max_failures`) ends `lockout_secs` after the failure that set it. An accepted code deletes
the count (reset); a failure that turned out not to be one is given back (refund, never
below zero). A count past its expiry is no count, whether or not the store has deleted it.

The DynamoDB adapter (adapters/dynamo/account_lock.py) builds its conditions from this rule;
the in-memory fake (tests/support/fakes.py) asks the same functions;
tests/integration/test_lifecycles.py walks every write on both.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

KEY_PREFIX = "fail#"


@dataclass(frozen=True)
class FailureCount:
    """An account's consecutive wrong codes, and when the count (and its lock) expires
    (whole seconds, as the store's TTL)."""

    failures: int
    expires: float


@dataclass(frozen=True)
class AccountLockRule:
    max_failures: int
    lockout_secs: int

    @staticmethod
    def key(subject: str) -> str:
        """Where `subject`'s count is kept (RateLimitsTable `pk`)."""
        return KEY_PREFIX + subject

    def expiry(self, now: float) -> int:
        """A count written at `now` expires then (rounded up to the store's whole seconds)."""
        return math.ceil(now + self.lockout_secs)

    @staticmethod
    def live(count: FailureCount | None, now: float) -> bool:
        return count is not None and count.expires > now

    def locked_for(self, count: FailureCount | None, now: float) -> int | None:
        """The seconds the lock `count` holds at `now` has left (its Retry-After, never more
        than the lockout), or None when the account is not locked."""
        if count is None or not (count.failures >= self.max_failures and count.expires > now):
            return None
        return min(self.lockout_secs, math.ceil(count.expires - now))

    def counted(self, count: FailureCount | None, now: float) -> FailureCount | None:
        """The count once one more failure is counted at `now`, or None when the account is
        locked (nothing is written): one more on a live count, else a new count of one."""
        if self.locked_for(count, now) is not None:
            return None
        failures = count.failures + 1 if count is not None and self.live(count, now) else 1
        return FailureCount(failures, self.expiry(now))

    def attempts_left(self, count: FailureCount) -> int:
        """The wrong codes still allowed before the lock (what `reserve` answers)."""
        return max(0, self.max_failures - count.failures)

    @staticmethod
    def refunded(count: FailureCount | None) -> FailureCount | None:
        """The count with one failure given back, or None when there is none to give back
        (nothing is written); the expiry stays."""
        if count is None or count.failures <= 0:
            return None
        return FailureCount(count.failures - 1, count.expires)
