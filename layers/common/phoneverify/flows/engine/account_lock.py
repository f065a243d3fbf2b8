"""The account-lock side of a code (docs/abuse-controls.md#the-account-lock): each check is
counted as a wrong code on the account in advance, given back when it was not one, and reset
by a right one; the wrong code that reaches the account's cap closes every flow of it, ends
its tokens and tells its owner. One counter (AccountLock) for all of it."""

from __future__ import annotations

import logging

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.errors import AccountLocked, StorageUnavailable
from phoneverify.domain.models import FlowKind, NoticeEvent, PendingVerification, RequestOrigin
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.policy import ChallengePolicy
from phoneverify.ports.abuse import AccountLock
from phoneverify.ports.accounts import AccountTokens
from phoneverify.ports.messaging import AccountNotices
from phoneverify.ports.verifications import VerificationStore

logger = logging.getLogger(__name__)

# Flows whose code goes to the account's own (proven) number: the lock's notice goes there.
# A registration has no account yet, and a number being added is not proven.
LOCK_NOTICE_KINDS = frozenset({FlowKind.LOGIN, FlowKind.PAYMENT, FlowKind.REAUTH})


class WrongCodeLock:
    def __init__(
        self,
        policy: ChallengePolicy,
        counter: AccountLock | None,
        *,
        store: VerificationStore,
        audit: FlowAudit,
        account_tokens: AccountTokens | None = None,
        notices: AccountNotices | None = None,
    ) -> None:
        """`counter`: the account's wrong codes (None: tests of other mechanics).
        `account_tokens`: ended when the lock falls; `notices`: the owner told."""
        self._policy = policy
        self._counter = counter
        self._store = store
        self._audit = audit
        self._account_tokens = account_tokens
        self._notices = notices

    @property
    def counts(self) -> bool:
        """Whether this kind's wrong codes count towards the account's lock."""
        policy = self._policy
        applies = policy.account_lock_applies or policy.counts_toward_lock
        return self._counter is not None and applies

    @property
    def holds(self) -> bool:
        """Whether a locked account gets no code of this kind (and no check of one)."""
        return self._counter is not None and self._policy.account_lock_applies

    def ensure_unlocked(self, subject: str) -> None:
        """Raise AccountLocked if the lock holds this kind and the account is locked."""
        if self._counter is not None and self.holds:
            self._counter.ensure_unlocked(subject)

    def reserve(self, record: PendingVerification) -> int | None:
        """Count this check as a wrong code on the account in advance (an accepted code
        resets the count): concurrent checks across flows cannot exceed the account's cap.
        Wrong codes the account may still take after this one (None: not counted). At the
        cap, the flow's attempt is given back and AccountLocked raised."""
        if self._counter is None or not self.counts:
            return None
        try:
            return self._counter.reserve(record.subject)
        except AccountLocked:
            if not self._policy.account_lock_applies:
                # The lock does not hold this flow (the reset, the way out of it): the
                # account is at its cap already, so there is nothing more to count.
                return None
            self._store.refund_attempt(record.flow_key, record.verification_id)
            raise
        except BaseException:
            self._store.refund_attempt(record.flow_key, record.verification_id)
            raise

    def refund(self, subject: str) -> None:
        """The check counted in advance was no wrong code after all."""
        if self._counter is not None and self.counts:
            self._counter.refund(subject)

    def accepted(self, subject: str) -> None:
        """A right code: the account's count starts again."""
        if self._counter is not None and self.counts:
            self._counter.reset(subject)

    def unlock(self, subject: str) -> None:
        """Clear the account's wrong-code count and any lock (after a password reset), whether
        or not this kind counts towards it."""
        if self._counter is not None:
            self._counter.reset(subject)

    def rejected(
        self, record: PendingVerification, origin: RequestOrigin, failures_left: int | None
    ) -> None:
        """A wrong code was counted: if it reached the account's cap (`failures_left` 0),
        every flow of the account is closed now; where the lock holds this kind, raises
        AccountLocked."""
        if failures_left != 0 or self._counter is None or not self.counts:
            return
        self._audit.emit(VerificationEventType.ACCOUNT_LOCKED, record, origin)
        self._end_tokens(record.subject)
        self._notify(record)
        if self._policy.account_lock_applies:
            self._counter.ensure_unlocked(record.subject)  # raises AccountLocked

    def _end_tokens(self, subject: str) -> None:
        """Whoever typed a hundred wrong codes may hold a token (payments): a lock ends every
        token of the account. Best effort: the lock holds whatever happens here."""
        if self._account_tokens is None:
            return
        try:
            self._account_tokens.end_all_tokens(subject)
        except StorageUnavailable:
            logger.error("tokens of a locked account not ended", extra={"subject": subject})

    def _notify(self, record: PendingVerification) -> None:
        """Tell the owner at the account's number (never raises: AccountNotices)."""
        if self._notices is not None and record.kind in LOCK_NOTICE_KINDS:
            self._notices.notify(record.phone_number, NoticeEvent.ACCOUNT_LOCKED)
