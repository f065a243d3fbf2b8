"""Password throttling rules (NIST SP 800-63B 5.2.2): how long a sign-in waits after
consecutive wrong passwords, and the keys the counters live under.

The rules are here, apart from any store, so the DynamoDB adapter and the in-memory fake used
by unit tests apply exactly the same ones.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

from phoneverify.domain.keyed import digest
from phoneverify.domain.models import RequestOrigin
from phoneverify.domain.send_limits import address_block, window_start

ACCOUNT_PREFIX = "pwfail#"
SOURCE_PREFIX = "pwsrc#"


@dataclass(frozen=True)
class PasswordThrottlePolicy:
    """`free_failures` consecutive wrong passwords per account cost nothing; from then on each
    one makes the next attempt wait `base_delay_secs`, doubling per failure up to
    `max_delay_secs` (minutes, never days: password failures alone never lock an account).
    Failures are forgotten `failure_memory_secs` after the last one, and a right password
    forgets them at once. One source address may fail `per_source` times per
    `source_window_secs`, across every account (credential stuffing)."""

    free_failures: int = 5
    base_delay_secs: int = 30
    max_delay_secs: int = 900
    failure_memory_secs: int = 86_400
    per_source: int = 100
    source_window_secs: int = 3_600
    # An attempt past the free ones holds the account until its password check is done.
    check_lease_secs: int = 15

    def delay_after(self, failures: int) -> int:
        """Seconds the next attempt waits after `failures` consecutive wrong passwords."""
        if failures < self.free_failures:
            return 0
        doublings = min(failures - self.free_failures, 32)  # 2**32 * base is past any cap
        return min(self.max_delay_secs, self.base_delay_secs << doublings)

    def source_window(self, now: float) -> int:
        return window_start(now, self.source_window_secs)

    def source_key(self, origin: RequestOrigin, now: float) -> str:
        """The counter of the caller's address block in the current window."""
        return f"{SOURCE_PREFIX}{digest(address_block(origin.source_ip))}#{self.source_window(now)}"

    def source_retry_after(self, now: float) -> int:
        return max(1, math.ceil(self.source_window(now) + self.source_window_secs - now))


def account_key(email: str) -> str:
    """The account's throttling key: a digest of the normalised email, so an unknown email is
    throttled exactly like a known one and no address is stored in clear."""
    return hashlib.sha256(f"email:{email}".encode()).hexdigest()
