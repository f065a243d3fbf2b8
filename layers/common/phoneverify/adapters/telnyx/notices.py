"""AccountNotices by SMS through Telnyx Messaging (docs/phone-lifecycle.md#notices).

A notice tells an account's owner that something happened to the account: plain words, never
a code, never a link. Before it is sent, the number must pass the phone policy codes pass
(domain/phones.py) and the notice must fit in the SMS budget codes count in, and in a cap of
notices per number (NoticeBudget): never the per-phone code limits, so notices cannot lock
the owner out of codes. A send is tried `max_attempts` times while Telnyx cannot answer (one
Idempotency-Key for all of them, so nothing arrives twice); then the notice is given up. Every
outcome is audited (`notice_sent`, `notice_failed` with its reason; the event log counts them as
the metrics Verification_notice_sent and Verification_notice_failed) and `notify` never raises:
the change the notice is about has happened already.

The audit subject is `phone#<SHA-256 of the E.164 number>` (the digest the send counters use):
the port names a phone, not an account, and the account's own event (password_reset,
logged_out, account_locked) is audited under its user id by the flow.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.telnyx.client import (
    TelnyxError,
    TelnyxRateLimited,
    TelnyxServerError,
    TelnyxUnavailable,
)
from phoneverify.adapters.telnyx.messaging import TelnyxMessagingClient
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    InvalidPhoneNumber,
    PhoneNotAllowed,
    SendBudgetExhausted,
    SendLimitReached,
    StorageUnavailable,
)
from phoneverify.domain.models import (
    FlowKind,
    NoticeEvent,
    SendPermit,
    VerificationEvent,
    VerificationEventType,
)
from phoneverify.domain.phones import PhonePolicy, mask_phone
from phoneverify.domain.send_limits import NOTICE_ORIGIN, digest
from phoneverify.ports.messaging import NoticeBudget
from phoneverify.ports.verifications import VerificationEvents

logger = Logger(child=True)

IF_NOT_YOU = "If this wasn't you, contact support."
# Plain words only: no code, no link, nothing that acts on the account.
NOTICE_TEXTS: dict[NoticeEvent, str] = {
    NoticeEvent.PHONE_CHANGED: "{service}: the phone number on your account was changed. "
    + IF_NOT_YOU,
    NoticeEvent.PHONE_ADDED: "{service}: this number was added to your account; sign-in codes "
    "will come here. " + IF_NOT_YOU,
    NoticeEvent.ACCOUNT_LOCKED: "{service}: your account was locked after too many wrong "
    "codes. Reset your password to unlock it. " + IF_NOT_YOU,
    NoticeEvent.PASSWORD_RESET: "{service}: your password was reset and every session was "
    "signed out. " + IF_NOT_YOU,
    NoticeEvent.LOGGED_OUT_EVERYWHERE: "{service}: every session of your account was signed "
    "out. " + IF_NOT_YOU,
    NoticeEvent.PHONE_SWAP_PENDING: "{service}: a new number will replace this one on your "
    "account in a few days: sign in to cancel it. " + IF_NOT_YOU,
    NoticeEvent.PHONE_SWAP_CANCELLED: "{service}: the new number waiting to replace this one "
    "was cancelled. " + IF_NOT_YOU,
    NoticeEvent.PHONE_SWAP_DONE: "{service}: the phone number on your account was replaced "
    "and every session was signed out. " + IF_NOT_YOU,
}
# Telnyx could not answer (or asked us to slow down): worth another attempt. Any other
# refusal (a number Telnyx refuses, a wrong sender or key) will not change on a retry.
RETRYABLE = (TelnyxUnavailable, TelnyxServerError, TelnyxRateLimited)


def notice_text(event: NoticeEvent, service_name: str) -> str:
    return NOTICE_TEXTS[event].format(service=service_name)


def notice_subject(phone: str) -> str:
    """Whom a notice is audited under: the number's digest, never the number."""
    return f"phone#{digest(phone)}"


class TelnyxAccountNotices:
    """AccountNotices. `client` builds the Messaging client on the first notice (most
    invocations send none, so none pays for its connection pool); `sender` gives the sending
    number or messaging profile id (from SSM, cached by the secret source); `pause` waits
    between attempts (tests pass a recorder)."""

    def __init__(
        self,
        client: Callable[[], TelnyxMessagingClient],
        *,
        sender: Callable[[], str],
        budget: NoticeBudget,
        phone_policy: PhonePolicy,
        events: VerificationEvents,
        clock: Clock,
        service_name: str,
        max_attempts: int = 3,
        backoff_secs: float = 0.25,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client_factory = client
        self._client: TelnyxMessagingClient | None = None
        self._sender = sender
        self._budget = budget
        self._policy = phone_policy
        self._events = events
        self._clock = clock
        self._service = service_name
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff_secs
        self._pause = pause

    def notify(self, phone: str, event: NoticeEvent) -> None:
        try:
            self._notify(phone, event)
        except Exception:  # the port's promise: a notice never fails what it is about
            logger.exception("notice not sent", extra={"notice": event.value})
            self._failed(phone, event, "unexpected_error")

    def _notify(self, phone: str, event: NoticeEvent) -> None:
        try:
            self._policy.ensure_allowed(phone)
        except (PhoneNotAllowed, InvalidPhoneNumber):
            self._failed(phone, event, "phone_not_allowed")
            return
        try:
            permit = self._budget.admit_notice(phone)
        except SendLimitReached:
            self._failed(phone, event, "notice_limit_reached")
            return
        except SendBudgetExhausted:
            self._failed(phone, event, "sms_budget_exhausted")
            return
        except StorageUnavailable:
            self._failed(phone, event, "storage_unavailable")
            return
        try:
            self._send(phone, event, permit)
        except BaseException:
            self._budget.release(permit)
            raise

    def _send(self, phone: str, event: NoticeEvent, permit: SendPermit) -> None:
        text = notice_text(event, self._service)
        sender = self._sender()
        if self._client is None:
            self._client = self._client_factory()
        key = secrets.token_hex(16)  # one per notice: its retries are one message
        reason = "telnyx_unavailable"
        for attempt in range(1, self._max_attempts + 1):
            try:
                sent = self._client.send_sms(phone, text, sender, idempotency_key=key)
            except RETRYABLE as exc:
                reason = _reason(exc)
                if attempt < self._max_attempts:
                    self._pause(self._backoff * 2 ** (attempt - 1))
                continue
            except TelnyxError as exc:
                reason = _reason(exc)
                break
            self._record(
                VerificationEventType.NOTICE_SENT,
                phone,
                event,
                attempts=attempt,
                message_id=sent.id,
            )
            return
        self._budget.release(permit)  # nothing went out: it counts against no budget
        self._failed(phone, event, reason, attempts=attempt)

    def _failed(self, phone: str, event: NoticeEvent, reason: str, **detail: Any) -> None:
        logger.warning(
            "notice failed",
            extra={"notice": event.value, "reason": reason, "phone": mask_phone(phone)},
        )
        self._record(VerificationEventType.NOTICE_FAILED, phone, event, reason=reason, **detail)

    def _record(
        self, event_type: VerificationEventType, phone: str, event: NoticeEvent, **detail: Any
    ) -> None:
        try:
            self._events.record(
                VerificationEvent(
                    type=event_type,
                    kind=FlowKind.NOTICE,
                    subject=notice_subject(phone),
                    masked_phone=mask_phone(phone),
                    at=self._clock.now(),
                    origin=NOTICE_ORIGIN,
                    detail={"notice": event.value, **detail},
                )
            )
        except Exception:
            logger.exception("notice not audited", extra={"notice": event.value})


def _reason(exc: TelnyxError) -> str:
    """The audit's words for a Telnyx failure (its status, never its text)."""
    if isinstance(exc, TelnyxUnavailable):
        return "telnyx_unavailable"
    return f"telnyx_{exc.status}" if exc.status is not None else "telnyx_error"
