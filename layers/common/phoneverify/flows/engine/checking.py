"""Checking a code against a challenge: one conditional write reserves the attempt (and a
lease: one check at a time per flow) and answers with the flow as it was, so no read comes
before it; a right code consumes the flow, a wrong one counts on the flow and on the account
(account_lock.py), and a flow whose number the account has left ends as superseded."""

from __future__ import annotations

import math
from collections.abc import Callable

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    CheckInProgress,
    CodeCheckFailed,
    InvalidCode,
    InvalidRequest,
    PhoneSuperseded,
    StorageUnavailable,
    TooManyAttempts,
)
from phoneverify.domain.models import PendingVerification, RequestOrigin
from phoneverify.domain.tiers import SendTier
from phoneverify.flows.engine.account_lock import WrongCodeLock
from phoneverify.flows.engine.any_flow import AnyFlow, flow_key
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenge_records import phone_binding
from phoneverify.flows.engine.pending import PendingChallenges
from phoneverify.flows.engine.policy import CHECK_LEASE_SECS, ChallengePolicy
from phoneverify.flows.engine.provider_calls import ProviderCalls
from phoneverify.ports.abuse import PrefixGuard
from phoneverify.ports.verifications import VerificationStore


class CodeCheck:
    def __init__(
        self,
        policy: ChallengePolicy,
        *,
        store: VerificationStore,
        clock: Clock,
        pending: PendingChallenges,
        provider: ProviderCalls,
        lock: WrongCodeLock,
        flows: AnyFlow,
        audit: FlowAudit,
        prefixes: PrefixGuard | None = None,
    ) -> None:
        """`prefixes`: the fraud guard, told of each code to an unproven number entered."""
        self._policy = policy
        self._store = store
        self._clock = clock
        self._pending = pending
        self._provider = provider
        self._lock = lock
        self._flows = flows
        self._audit = audit
        self._prefixes = prefixes

    def check(
        self,
        flow_id: str,
        code: str,
        origin: RequestOrigin,
        *,
        owner: str | None = None,
        before_consume: Callable[[PendingVerification], None] | None = None,
        also_right: Callable[[PendingVerification], bool] | None = None,
        verifier: Callable[[PendingVerification, str], bool] | None = None,
    ) -> PendingVerification:
        """See Challenges.check."""
        if verifier is None and len(code) != self._policy.code_length:
            raise InvalidRequest(f"code must be {self._policy.code_length} digits", field="code")
        # One conditional write reserves the attempt and answers with the flow as it was: its
        # verification id is the code this attempt is checked against. No read before it.
        now = self._clock.now()
        # One check at a time per flow: Telnyx accepts a code once, so a second concurrent
        # check of the right code would read as a wrong one.
        lease_until = now + CHECK_LEASE_SECS
        write = self._store.reserve_attempt(
            flow_key(flow_id), self._policy.kind, now, lease_until, owner=owner
        )
        record = write.record
        if not write.done or record is None:
            raise self._refusal(record, origin, now, owner)
        attempts = record.attempts + 1
        failures_left = self._lock.reserve(record)
        return self._reserved(
            record,
            code,
            attempts,
            origin,
            lease_until,
            failures_left,
            before_consume,
            also_right,
            verifier,
        )

    def _refusal(
        self,
        record: PendingVerification | None,
        origin: RequestOrigin,
        now: float,
        owner: str | None,
    ) -> Exception:
        """Why no attempt could be reserved on `record` (the flow as the write found it)."""
        # raises why the flow can no longer be checked (another owner's: as if none)
        current = self._pending.explain(record, origin, owner=owner)
        if current.check_lease_until > now:
            return CheckInProgress(math.ceil(current.check_lease_until - now))
        return self._pending.none()

    def _reserved(
        self,
        record: PendingVerification,
        code: str,
        attempts: int,
        origin: RequestOrigin,
        lease_until: float,
        failures_left: int | None = None,
        before_consume: Callable[[PendingVerification], None] | None = None,
        also_right: Callable[[PendingVerification], bool] | None = None,
        verifier: Callable[[PendingVerification, str], bool] | None = None,
    ) -> PendingVerification:
        """`failures_left`: wrong codes the account may still take after this one, when
        this check was counted as one in advance (None without a failure counter)."""
        key = record.flow_key
        try:
            # A second code of our own (a sign-up's email code) first: when it is wrong the
            # attempt is a wrong code, and the provider is not asked (it accepts a code once).
            is_right = self._provider.is_right if verifier is None else verifier
            accepted = (also_right is None or also_right(record)) and is_right(record, code)
        except (CodeCheckFailed, StorageUnavailable):
            # The provider, or a verifier's read of the account, did not answer: no attempt.
            self._store.refund_attempt(key, record.verification_id)
            self._lock.refund(record.subject)
            raise
        if accepted and before_consume is not None:
            try:
                before_consume(record)
            except InvalidRequest:
                # The code was right: it counts as no wrong one, and stays usable.
                self._lock.refund(record.subject)
                proven = self._provider.proven_id(record, code)
                self._store.prove(key, record.verification_id, proven)
                raise
        if accepted:
            return self._accepted(record, attempts, origin)
        remaining = record.max_attempts - attempts
        self._audit.emit(
            VerificationEventType.REJECTED, record, origin, attempts=attempts, remaining=remaining
        )
        locked = False
        if remaining <= 0:
            locked = self._store.lock(key, self._clock.now())
            if locked:
                self._audit.emit(VerificationEventType.LOCKED, record, origin, attempts=attempts)
        else:
            self._store.release_check(key, lease_until)
        # This wrong code may have reached the account's cap: every flow of it is closed then.
        self._lock.rejected(record, origin, failures_left)
        if remaining <= 0:
            raise TooManyAttempts(self._policy.too_many_attempts_message, locked=locked)
        raise InvalidCode(attempts_remaining=remaining)

    def _accepted(
        self, record: PendingVerification, attempts: int, origin: RequestOrigin
    ) -> PendingVerification:
        """Consume the flow of a right code, if it is still the account's (phone_binding)."""
        binding = phone_binding(record)
        try:
            verified = self._store.mark_verified(
                record.flow_key, record.verification_id, self._clock.now(), binding
            )
        except PhoneSuperseded as superseded:
            self._lock.refund(record.subject)  # a right code counts as no wrong one
            self._flows.end_superseded(record, origin)
            kind = type(superseded)
            raise kind(f"{kind.message} {self._policy.restart_hint}") from None
        if not verified:
            # Another request consumed the flow first (or a resend replaced this code).
            self._lock.refund(record.subject)
            raise self._pending.none()
        self._lock.accepted(record.subject)
        if self._prefixes is not None and self._policy.tier is SendTier.UNPROVEN:
            # Real people enter their codes; pumping never does (the prefix's conversion).
            self._prefixes.count_verified(record.phone_number, record.last_sent_at)
        self._audit.emit(
            VerificationEventType.ACCEPTED,
            record,
            origin,
            attempts=attempts,
            channel=record.channel.value,
        )
        return record
