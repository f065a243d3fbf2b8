"""What sends: verification codes (Telnyx Verify), account notices (plain messages) and emails."""

from __future__ import annotations

from typing import Protocol

from phoneverify.domain.email_messages import EmailMessage
from phoneverify.domain.models import (
    Channel,
    NoticeEvent,
    RequestOrigin,
    SendPermit,
)
from phoneverify.domain.notices import OutboxNotice


class CodeSender(Protocol):
    """Sends codes and checks them (Telnyx Verify in production)."""

    def send(self, phone_number: str, channel: Channel = Channel.SMS) -> str:
        """Send a fresh code by `channel`; return the provider's verification id.

        Raises CodeDeliveryFailed when the provider cannot be reached or refuses.
        """
        ...

    def check(self, verification_id: str, code: str) -> bool:
        """True when `code` is the code of that verification.

        Raises CodeCheckFailed when the provider cannot answer.
        """
        ...

    def ready(self, *, sending: bool) -> None:
        """Resolve what a send (`sending`) or a check needs before it reaches the provider
        (its credentials, read once per worker and cached), and call nothing: what a decoy
        does in place of a send or a check, so that a cold worker reads the same secrets for
        both kinds (docs/abuse-controls.md#the-decoy-password-reset)."""
        ...


class AccountNotices(Protocol):
    def notify(self, phone: str, event: NoticeEvent) -> None:
        """Tell the account's owner at `phone` (E.164). Never raises: the notice is kept in a
        durable outbox and delivered with retries (docs/notices.md); it never blocks the
        change."""
        ...


class NoticeBudget(Protocol):
    """What a notice counts in before it is sent: the service-wide SMS budget codes count in
    too, and a per-number cap of notices of its own (never the per-phone code limits, so
    notices cannot lock the owner out of codes)."""

    def admit_notice(self, phone_number: str) -> SendPermit:
        """Count one notice to `phone_number`. Raises SendLimitReached (the number's notice
        cap), SendBudgetExhausted (the circuit breaker) or StorageUnavailable."""
        ...

    def release(self, permit: SendPermit) -> None:
        """Give back what `admit_notice` counted (best effort, as SendGuard.release)."""
        ...


class NoticeOutbox(Protocol):
    """Where notices wait until delivered (docs/notices.md): NoticesOutboxTable in
    production. Every change is conditional, by the rules of domain/notices.py."""

    def put(self, notice: OutboxNotice) -> None:
        """Keep `notice` (pending). A notice of that id kept already is left as it is (a
        retried request writes one). Raises StorageUnavailable."""
        ...

    def claim(self, notice_id: str, now: float) -> OutboxNotice | None:
        """Take the pending notice for one delivery (a lease, one attempt more), or None when
        it is delivered, given up, gone, or claimed by a delivery still running."""
        ...

    def delivered(self, notice_id: str, now: float, message_id: str) -> None:
        """Mark the claimed notice delivered and forget its number."""
        ...

    def retry(self, notice_id: str, reason: str) -> None:
        """Give the claim back: the notice stays pending for the next delivery."""
        ...

    def give_up(self, notice_id: str, now: float, reason: str) -> None:
        """Mark the notice given up and forget its number."""
        ...

    def undelivered(self, limit: int) -> list[tuple[str, float]]:
        """(id, created_at) of up to `limit` pending notices, oldest first."""
        ...


class NoticeNotSent(Exception):
    """The sender did not send a notice: `reason` for the audit (never the provider's text);
    `retryable` when another try later may succeed."""

    def __init__(self, reason: str, *, retryable: bool, attempts: int = 1) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable
        self.attempts = attempts


class NoticeSender(Protocol):
    """Sends one plain SMS (Telnyx Messaging in production)."""

    def send(self, phone: str, text: str, key: str) -> tuple[str, int]:
        """Send `text` to `phone`; `key` makes every try of one notice one message. Returns
        the provider's message id and the tries it took; raises NoticeNotSent."""
        ...


class EmailSender(Protocol):
    """Sends one email (Amazon SES v2 in production; the emulator's outbox locally)."""

    def send(self, to: str, message: EmailMessage) -> None:
        """Send `message` to `to`. Raises EmailDeliveryFailed when the service refuses or
        cannot be reached."""
        ...

    def ready(self) -> None:
        """Resolve what a send needs (the sender address, read once per worker) and send
        nothing: what a decoy does in place of a send."""
        ...


class EmailLimits(Protocol):
    """What one email counts in before it goes out (domain/email_limits.py): per address, per
    source, the email budget; and whether the address is suppressed. `address` is always its
    `address_key`, never the address."""

    def admit_email(self, address: str, origin: RequestOrigin) -> SendPermit:
        """Count one email to `address` from `origin` in every counter, or in none (one
        transaction, which also checks the address is not suppressed). Raises
        EmailUndeliverable, SendLimitReached, EmailBudgetExhausted or StorageUnavailable."""
        ...

    def release(self, permit: SendPermit) -> None:
        """Give back what `admit_email` counted (best effort, as SendGuard.release)."""
        ...

    def first_try_today(self, address: str) -> bool:
        """Mark today's "someone tried" notice to `address`: True for the first of the day
        (one conditional write). Raises StorageUnavailable."""
        ...

    def suppress(self, address: str, reason: str, now: float) -> bool:
        """Suppress `address` for good (SES reported a bounce or a complaint): True when this
        suppressed it, False when it was already. Raises StorageUnavailable."""
        ...
