"""The proof-of-work gate in front of codes to numbers nobody has proven yet (sign-up) and of
the password reset: whether a request vouched for itself with a solved challenge
(docs/abuse-controls.md#the-proof-of-work-gate).

`ProofOfWorkGate.vouch` answers True when the request carried a solution and it was accepted
(once: a second use is refused), False when it carried none and the mode lets it go on
without one. What a False costs is decided later: in `risky` mode the send guard asks for a
challenge (ChallengeRequired) when the source looks risky; in `always` mode no request gets
that far without one. Every refusal is audited as CHALLENGE_REFUSED.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum

from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.clock import Clock, SystemClock
from phoneverify.domain.errors import ChallengeInvalid, ChallengeRequired
from phoneverify.domain.keyed import digest
from phoneverify.domain.models import FlowKind, RequestOrigin
from phoneverify.domain.send_limits import address_block
from phoneverify.ports.abuse import HumanCheck
from phoneverify.ports.verifications import VerificationEvents


class GateMode(StrEnum):
    OFF = "off"  # never asks; a payload sent anyway is not even read
    ALWAYS = "always"  # every gated request carries a solved challenge
    RISKY = "risky"  # only while the source looks risky (decided by the send guard)


def source_subject(origin: RequestOrigin) -> str:
    """Who a refusal is filed under in the audit trail: the source address (IPv6: its /64),
    hashed as the send limits key it."""
    return f"source#{digest(address_block(origin.source_ip))}"


class ProofOfWorkGate:
    def __init__(
        self,
        mode: GateMode,
        check: HumanCheck,
        events: VerificationEvents,
        clock: Clock | None = None,
    ) -> None:
        self.mode = mode
        self._check = check
        self._events = events
        self._clock: Clock = clock or SystemClock()

    def vouch(self, payload: str | None, origin: RequestOrigin) -> bool:
        """True: a solved challenge came with the request and was accepted (the send guard's
        risk checks may be skipped). False: none came and the mode lets the request go on
        (off, or risky: the guard decides). Raises ChallengeRequired (always, without one)
        or ChallengeInvalid (malformed, wrong, expired or already used), each audited;
        StorageUnavailable when the solution's use cannot be recorded."""
        if self.mode is GateMode.OFF:
            return False
        if payload is None:
            if self.mode is GateMode.ALWAYS:
                self._refused(origin, "missing")
                raise ChallengeRequired()
            return False
        try:
            self._check.verify(payload)
        except ChallengeInvalid as refused:
            self._refused(origin, getattr(refused, "reason", "invalid"))
            raise
        return True

    @property
    def on(self) -> bool:
        """Whether the send guard may ask for a solved challenge (always or risky)."""
        return self.mode is not GateMode.OFF

    @contextmanager
    def asking(self, origin: RequestOrigin) -> Iterator[None]:
        """Around a send: where the send guard asks for a solved challenge (a source past its
        risk cap, a held prefix), the refusal is audited like the gate's own."""
        try:
            yield
        except ChallengeRequired:
            self._refused(origin, "risky")
            raise

    def _refused(self, origin: RequestOrigin, reason: str) -> None:
        self._events.record(
            VerificationEvent(
                type=VerificationEventType.CHALLENGE_REFUSED,
                kind=FlowKind.FRAUD_GUARD,
                subject=source_subject(origin),
                masked_phone="",
                at=self._clock.now(),
                origin=origin,
                detail={"reason": reason, "mode": self.mode.value},
            )
        )
