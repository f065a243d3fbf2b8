"""What sends: verification codes (Telnyx Verify), account notices (plain messages) and emails."""

from __future__ import annotations

from typing import Protocol

from phoneverify.domain.email_messages import EmailMessage
from phoneverify.domain.models import (
    Channel,
    NoticeEvent,
    SendPermit,
)


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
        """Tell the account's owner at `phone` (E.164). Never raises: a notice that
        cannot be sent is retried and audited by the adapter, and never blocks the change."""
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
