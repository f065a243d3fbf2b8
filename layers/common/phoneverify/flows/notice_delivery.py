"""A notice delivered from the outbox (docs/notices.md): the stream consumer's and the sweep's
one use case, functions/notices_deliver.

`deliver(id)` claims the pending notice (so the stream and the sweep never send it at once),
checks the phone policy, counts it in the notice tier's budget (NoticeBudget), sends it
(NoticeSender, one idempotency key per notice: a retry after a lost answer sends nothing twice),
marks it delivered and audits each outcome:

- `notice_sent`: delivered (detail: notice, attempts, message_id);
- `notice_retried`: it could not go now (the budget refused it, Telnyx could not answer, the
  budget's table failed): the claim is given back and the caller retries (the stream record
  fails; the sweep comes back);
- `notice_failed`: given up (a number the policy refuses, the number's notice cap, a refusal
  Telnyx will repeat, or a notice that waited longer than `give_up_after_secs`).

`sweep()` delivers the pending notices oldest first and tells the age of the oldest still
pending, for the alarm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    InvalidPhoneNumber,
    PhoneNotAllowed,
    SendBudgetExhausted,
    SendLimitReached,
    StorageUnavailable,
)
from phoneverify.domain.models import FlowKind
from phoneverify.domain.notices import (
    DeliveryOutcome,
    OutboxNotice,
    OutboxPolicy,
    expired_waiting,
    notice_subject,
    notice_text,
)
from phoneverify.domain.phones import PhonePolicy, mask_phone
from phoneverify.domain.send_limits import NOTICE_ORIGIN
from phoneverify.ports.messaging import NoticeBudget, NoticeNotSent, NoticeOutbox, NoticeSender
from phoneverify.ports.verifications import VerificationEvents

SWEEP_BATCH = 100  # pending notices one sweep takes on


@dataclass
class SweepReport:
    outcomes: dict[str, int] = field(default_factory=dict)
    oldest_pending_secs: float = 0.0  # of the notices still pending after the sweep


class NoticeDelivery:
    def __init__(
        self,
        *,
        outbox: NoticeOutbox,
        budget: NoticeBudget,
        sender: NoticeSender,
        phone_policy: PhonePolicy,
        events: VerificationEvents,
        clock: Clock,
        service_name: str,
        policy: OutboxPolicy | None = None,
    ) -> None:
        self._outbox = outbox
        self._budget = budget
        self._sender = sender
        self._phones = phone_policy
        self._events = events
        self._clock = clock
        self._service = service_name
        self._policy = policy or OutboxPolicy()

    def deliver(self, notice_id: str) -> DeliveryOutcome:
        now = self._clock.now()
        notice = self._outbox.claim(notice_id, now)
        if notice is None:
            return DeliveryOutcome.SETTLED
        if expired_waiting(notice, now, self._policy):
            return self._give_up(notice, "waited_too_long")
        try:
            self._phones.ensure_allowed(notice.phone)
        except (PhoneNotAllowed, InvalidPhoneNumber):
            return self._give_up(notice, "phone_not_allowed")
        try:
            permit = self._budget.admit_notice(notice.phone)
        except SendLimitReached:  # the number's cap: an anti-flood rule, not a shortage
            return self._give_up(notice, "notice_limit_reached")
        except SendBudgetExhausted:
            return self._retry(notice, "sms_budget_exhausted")
        except StorageUnavailable:
            return self._retry(notice, "storage_unavailable")
        text = notice_text(notice.event, self._service)
        try:
            message_id, attempts = self._sender.send(notice.phone, text, notice.notice_id)
        except NoticeNotSent as refused:
            self._budget.release(permit)  # nothing went out: it counts against no budget
            if refused.retryable:
                return self._retry(notice, refused.reason, telnyx_attempts=refused.attempts)
            return self._give_up(notice, refused.reason, telnyx_attempts=refused.attempts)
        except Exception:  # a bug or a secret that cannot be read: the next delivery tries
            self._budget.release(permit)
            return self._retry(notice, "unexpected_error")
        self._outbox.delivered(notice.notice_id, self._clock.now(), message_id)
        self._record(
            VerificationEventType.NOTICE_SENT,
            notice,
            telnyx_attempts=attempts,
            message_id=message_id,
        )
        return DeliveryOutcome.DELIVERED

    def sweep(self) -> SweepReport:
        """Deliver the pending notices, oldest first (one batch)."""
        report = SweepReport()
        for notice_id, _created in self._outbox.undelivered(SWEEP_BATCH):
            outcome = self.deliver(notice_id)
            report.outcomes[outcome.value] = report.outcomes.get(outcome.value, 0) + 1
        left = self._outbox.undelivered(1)
        if left:
            report.oldest_pending_secs = max(0.0, self._clock.now() - left[0][1])
        return report

    def _retry(self, notice: OutboxNotice, reason: str, **detail: Any) -> DeliveryOutcome:
        self._outbox.retry(notice.notice_id, reason)
        self._record(VerificationEventType.NOTICE_RETRIED, notice, reason=reason, **detail)
        return DeliveryOutcome.RETRY

    def _give_up(self, notice: OutboxNotice, reason: str, **detail: Any) -> DeliveryOutcome:
        self._outbox.give_up(notice.notice_id, self._clock.now(), reason)
        self._record(VerificationEventType.NOTICE_FAILED, notice, reason=reason, **detail)
        return DeliveryOutcome.GIVEN_UP

    def _record(
        self, event_type: VerificationEventType, notice: OutboxNotice, **detail: Any
    ) -> None:
        self._events.record(
            VerificationEvent(
                type=event_type,
                kind=FlowKind.NOTICE,
                subject=notice_subject(notice.phone),
                masked_phone=mask_phone(notice.phone),
                at=self._clock.now(),
                origin=NOTICE_ORIGIN,
                detail={
                    "notice": notice.event.value,
                    "notice_id": notice.notice_id,
                    "attempt": notice.attempts,
                    **detail,
                },
            )
        )
