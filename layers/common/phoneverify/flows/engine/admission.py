"""Whether a code may go out at all (docs/abuse-controls.md): the phone policy at every send,
then the account lock, the send limits of the flow's tier and, for codes to unproven numbers,
the fraud guard, in the send guard's one transaction. A prefix that trips is held here (and
audited); a send the provider refused counts against no limit."""

from __future__ import annotations

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.errors import (
    AccountPhoneNotAllowed,
    ChallengeRequired,
    InvalidPhoneNumber,
    PrefixHeld,
)
from phoneverify.domain.fraud import PrefixTripped
from phoneverify.domain.models import Channel, FlowKind, PhoneBinding, RequestOrigin, SendPermit
from phoneverify.domain.phones import DEFAULT_PHONE_POLICY, PhonePolicy
from phoneverify.flows.engine.account_lock import WrongCodeLock
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.policy import ChallengePolicy
from phoneverify.ports.abuse import PrefixGuard, SendGuard


class SendAdmission:
    def __init__(
        self,
        policy: ChallengePolicy,
        *,
        lock: WrongCodeLock,
        audit: FlowAudit,
        guard: SendGuard | None = None,
        phone_policy: PhonePolicy = DEFAULT_PHONE_POLICY,
        prefixes: PrefixGuard | None = None,
    ) -> None:
        """`guard`: the send limits beyond the flow's own (None: the lock on its own, tests
        only); `prefixes`: the fraud guard's holds."""
        self._policy = policy
        self._lock = lock
        self._audit = audit
        self._guard = guard
        self.phone_policy = phone_policy
        self._prefixes = prefixes

    def ensure_phone_allowed(self, phone_number: str) -> None:
        """The phone policy, at every send: a number stored on an account before the policy
        changed gets no code either. A registration's or a phone change's number came with the
        request (InvalidPhoneNumber naming the field); an account's did not
        (AccountPhoneNotAllowed). A code by email meets no phone policy."""
        if self._policy.by_email:
            return
        try:
            self.phone_policy.ensure_allowed(phone_number)
        except InvalidPhoneNumber:
            if self._policy.kind in (FlowKind.REGISTRATION, FlowKind.PHONE_CHANGE):
                raise
            raise AccountPhoneNotAllowed() from None

    def admit(
        self,
        phone_number: str,
        subject: str,
        origin: RequestOrigin,
        channel: Channel,
        binding: PhoneBinding | None = None,
        *,
        gated: bool = False,
        vouched: bool = False,
    ) -> SendPermit | None:
        """The account lock (where it applies), the send limits of the flow's tier and, for
        codes to unproven numbers, the fraud guard, in the guard's one transaction; without a
        guard, the lock on its own. A prefix that trips is held here (and audited)."""
        if self._guard is None:
            self._lock.ensure_unlocked(subject)
            return None
        try:
            return self._guard.admit(
                phone_number,
                subject,
                origin,
                channel,
                binding,
                account_lock=self._lock.holds,
                tier=self._policy.tier,
                gated=gated,
                vouched=vouched,
            )
        except PrefixHeld as refused:
            if isinstance(refused, PrefixTripped):
                self._hold(refused, origin)
            if gated and not vouched:
                raise ChallengeRequired() from None
            raise PrefixHeld(refused.retry_after) from None

    def release(self, permit: SendPermit | None) -> None:
        """A send Telnyx refused (or never answered) counts against no limit."""
        if permit is not None and self._guard is not None:
            self._guard.release(permit)

    def _hold(self, tripped: PrefixTripped, origin: RequestOrigin) -> None:
        """Hold the prefix that tripped (and maybe its country): each hold placed is an
        audited event (and the metric Verification_hold_placed, which an alarm watches)."""
        if self._prefixes is None:
            return
        for hold in self._prefixes.hold(tripped):
            self._audit.record(
                VerificationEventType.HOLD_PLACED,
                f"{hold.scope}#{hold.target}",
                origin,
                kind=FlowKind.FRAUD_GUARD,
                scope=hold.scope,
                target=hold.target,
                until=hold.until,
                reason="pumping",
            )
