"""The flows of one kind as the store holds them: the pending challenge a check or a resend
may use, or the domain error that says why there is none (expiry checked here, not left to
TTL, whose deletion can lag by days)."""

from __future__ import annotations

import math

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    NoPendingVerification,
    TooManyAttempts,
    VerificationExpired,
)
from phoneverify.domain.models import FlowStatus, PendingVerification, RequestOrigin
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.policy import ChallengePolicy
from phoneverify.ports.verifications import VerificationStore


class PendingChallenges:
    def __init__(
        self,
        policy: ChallengePolicy,
        *,
        store: VerificationStore,
        clock: Clock,
        audit: FlowAudit,
    ) -> None:
        self._policy = policy
        self._store = store
        self._clock = clock
        self._audit = audit

    def get(
        self,
        key: str,
        origin: RequestOrigin,
        *,
        allow_expired: bool = False,
        owner: str | None = None,
    ) -> PendingVerification:
        """The pending challenge under `key`, or the domain error that says why there is none.
        With an `owner`, another subject's flow is answered as no flow at all."""
        return self.explain(self._store.get(key), origin, allow_expired=allow_expired, owner=owner)

    def explain(
        self,
        record: PendingVerification | None,
        origin: RequestOrigin,
        *,
        allow_expired: bool = False,
        owner: str | None = None,
    ) -> PendingVerification:
        """`record` if it is a pending challenge of this kind (and `owner`'s, with one), or
        the domain error that says why it is not: another subject's flow is answered as no
        flow at all."""
        policy = self._policy
        now = self._clock.now()
        if record is None or record.kind != policy.kind:
            raise self.none()
        if owner is not None and record.subject != owner:
            raise self.none()
        if record.status == FlowStatus.LOCKED:
            raise TooManyAttempts(policy.too_many_attempts_message, locked=True)
        if record.status != FlowStatus.PENDING:
            raise self.none()
        if record.attempts >= record.max_attempts:
            raise TooManyAttempts(policy.too_many_attempts_message)
        if record.is_expired(now):
            # Within the retention window a resend may revive the flow; after it, nothing can.
            revivable = now < record.expires_at + policy.retention_secs
            if allow_expired and revivable:
                return record
            if allow_expired:
                raise self.none()
            self._audit.emit(VerificationEventType.EXPIRED, record, origin)
            raise VerificationExpired("Verification expired. " + policy.restart_hint)
        return record

    def none(self) -> NoPendingVerification:
        """The answer for a flow that is not (or no longer) there to use."""
        return NoPendingVerification(self._policy.no_pending_message)

    def ttl(self, expires_at: float) -> int:
        """When the store may forget a flow whose code expires at `expires_at`."""
        return math.ceil(expires_at + self._policy.retention_secs)
