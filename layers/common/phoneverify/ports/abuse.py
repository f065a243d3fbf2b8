"""What guards the sends and the guesses: send limits, the fraud guard's holds, the wrong-code
account lock, the password throttle and the proof-of-work check."""

from __future__ import annotations

from typing import Any, Protocol

from phoneverify.domain.fraud import Hold, PrefixTripped
from phoneverify.domain.models import (
    Channel,
    PasswordAttempt,
    PhoneBinding,
    RequestOrigin,
    SendPermit,
)
from phoneverify.domain.tiers import SendTier


class SendGuard(Protocol):
    """Limits on sending codes beyond one flow's: per phone number, source IP and account,
    and a service-wide budget. Asked before every send; all or nothing, so a refused send
    counts nowhere."""

    def admit(
        self,
        phone_number: str,
        subject: str,
        origin: RequestOrigin,
        channel: Channel = Channel.SMS,
        binding: PhoneBinding | None = None,
        *,
        account_lock: bool = False,
        tier: SendTier = SendTier.VERIFIED,
        gated: bool = False,
        vouched: bool = False,
    ) -> SendPermit:
        """Count one send of `tier` to `phone_number` for `subject` from `origin` by `channel`
        (a call counts in the call caps too), in that tier's counters and budget only. With
        `account_lock`, only while `subject`'s account is not locked (the AccountLock the
        guard was built with), and with a `binding` (a resend of a flow sent to the account's
        phone), only while the account's phone generation is still the bound one: both checked
        in the same transaction, so no read comes before it and no code goes to a locked
        account or a number the account has left. A code of the unproven tier also passes the
        fraud guard in that transaction (its prefix and country not held, the prefix not over
        the rule; an operator's deny list). `gated` without `vouched`: the source's cap is its
        risk cap, whose refusal asks for a solved challenge; `vouched`: no hold refuses.

        Raises AccountLocked (429, retry_after as AccountLock.ensure_unlocked; answered
        before anything else), PhoneSuperseded (before any cap), PhoneNotAllowed (a denied
        destination), PrefixHeld (429; PrefixTripped when this send tripped the rule),
        SendLimitReached (429, retry_after = seconds until the full window ends),
        ChallengeRequired (the risk cap), SendBudgetExhausted (503, the tier's circuit
        breaker), all counting nothing, or StorageUnavailable.
        """
        ...

    def release(self, permit: SendPermit) -> None:
        """Give back what `admit` counted, after the provider failed to send (best effort:
        never raises for a storage failure)."""
        ...


class PrefixGuard(Protocol):
    """The fraud guard's writes outside a send's transaction (docs/abuse-controls.md): holds
    placed when a prefix trips, and codes entered, per prefix. Both best effort: the
    detector fails open on its own storage errors."""

    def hold(self, tripped: PrefixTripped) -> list[Hold]:
        """Hold the prefix `tripped` names (and its country, when enough of its prefixes are
        held); the holds this call placed."""
        ...

    def count_verified(self, phone_number: str, sent_at: float) -> None:
        """A code to the unproven `phone_number`, sent at `sent_at`, was entered."""
        ...


class AccountLock(Protocol):
    """Consecutive wrong codes per account (subject), across all its flows."""

    def ensure_unlocked(self, subject: str) -> None:
        """Raise AccountLocked (429, retry_after = seconds until the lock ends) at the cap."""
        ...

    def reserve(self, subject: str) -> int:
        """Count one failure in advance of a code check; return how many more may follow
        before the lock (0: this one reached the cap). Conditional, so concurrent checks
        cannot exceed the cap. Raises AccountLocked, counting nothing, when at the cap."""
        ...

    def refund(self, subject: str) -> None:
        """Give back a reservation whose check never happened (the provider failed, or
        another request consumed the flow). Best effort: never raises for a storage failure."""
        ...

    def reset(self, subject: str) -> None:
        """A code was accepted: the consecutive failures start over. Best effort: never
        raises for a storage failure (the code is accepted regardless)."""
        ...


class PasswordThrottle(Protocol):
    """Consecutive wrong passwords per account key (phoneverify.domain.throttling.account_key) and
    wrong passwords per source address, with the rules of PasswordThrottlePolicy.
    Race-safe: an attempt is counted as a failure before its password is checked."""

    def admit(
        self, account_key: str, origin: RequestOrigin, *, vouched: bool = False
    ) -> PasswordAttempt:
        """Count one attempt in advance. Raises LoginThrottled (429, retry_after; `subject`
        as the account's wait recorded it, or None) while the account waits, SourceThrottled
        while the source is at its cap, counting nothing then. `vouched` (a solved proof of
        work came): the source's cap does not refuse (it still counts)."""
        ...

    def failed(self, attempt: PasswordAttempt, subject: str | None = None) -> int:
        """The password was wrong: the failure stays counted; return the seconds the next
        attempt for this account waits (0 within the free failures). Best effort. The wait
        keeps `subject` (whom the failure was audited under): the LoginThrottled of an
        attempt it refuses names it, so a refusal is audited where the failures are."""
        ...

    def succeeded(self, attempt: PasswordAttempt) -> None:
        """The password was right: the account's failures start over and the source gets
        its count back. Best effort: never raises for a storage failure."""
        ...

    def clear(self, account_key: str) -> None:
        """Forget the account's failures (a password reset). Best effort."""
        ...


# -- the proof-of-work gate (docs/abuse-controls.md#the-proof-of-work-gate) -------------------
class HumanCheck(Protocol):
    """A check a client passes before a code goes to a number nobody has proven: a proof of
    work (ALTCHA) today; Turnstile or hCaptcha can stand behind the same two calls."""

    def issue(self) -> dict[str, Any]:
        """A fresh challenge: the JSON the client solves (GET /challenge answers it)."""
        ...

    def verify(self, payload: str) -> None:
        """Accept the client's solution `payload` once. Raises ChallengeInvalid when it is
        malformed, wrong, expired or already used; StorageUnavailable when whether it was used
        cannot be recorded."""
        ...
