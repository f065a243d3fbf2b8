"""NoticeSender through Telnyx Messaging (docs/notices.md): one notice, one message.

The delivery from the outbox (flows/notice_delivery.py) decides whether a notice may go (the
phone policy, the budget) and audits it; this adapter only sends. A send is tried
`max_attempts` times while Telnyx cannot answer, all with the notice's own id as the
Idempotency-Key, so nothing arrives twice, not even when the outbox delivers it again after a
lost answer. A refusal that a retry would not change (a number Telnyx refuses, a wrong sender
or key) is not retried.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from phoneverify.adapters.telnyx.client import (
    TelnyxError,
    TelnyxRateLimited,
    TelnyxServerError,
    TelnyxUnavailable,
)
from phoneverify.adapters.telnyx.messaging import TelnyxMessagingClient
from phoneverify.domain.notices import NOTICE_TEXTS, notice_subject, notice_text
from phoneverify.ports.messaging import NoticeNotSent

# Telnyx could not answer (or asked us to slow down): worth another attempt. Any other
# refusal (a number Telnyx refuses, a wrong sender or key) will not change on a retry.
RETRYABLE = (TelnyxUnavailable, TelnyxServerError, TelnyxRateLimited)

__all__ = ["NOTICE_TEXTS", "RETRYABLE", "TelnyxNoticeSender", "notice_subject", "notice_text"]


class TelnyxNoticeSender:
    """NoticeSender. `client` builds the Messaging client on the first notice; `sender`
    gives the sending number or messaging profile id (from SSM, cached by the secret source);
    `pause` waits between attempts (tests pass a recorder)."""

    def __init__(
        self,
        client: Callable[[], TelnyxMessagingClient],
        *,
        sender: Callable[[], str],
        max_attempts: int = 3,
        backoff_secs: float = 0.25,
        pause: Callable[[float], None] = time.sleep,
    ) -> None:
        self._client_factory = client
        self._client: TelnyxMessagingClient | None = None
        self._sender = sender
        self._max_attempts = max(1, max_attempts)
        self._backoff = backoff_secs
        self._pause = pause

    def send(self, phone: str, text: str, key: str) -> tuple[str, int]:
        sender = self._sender()
        if self._client is None:
            self._client = self._client_factory()
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
                raise NoticeNotSent(_reason(exc), retryable=False, attempts=attempt) from None
            return sent.id, attempt
        raise NoticeNotSent(reason, retryable=True, attempts=self._max_attempts)


def _reason(exc: TelnyxError) -> str:
    """The audit's words for a Telnyx failure (its status, never its text)."""
    if isinstance(exc, TelnyxUnavailable):
        return "telnyx_unavailable"
    return f"telnyx_{exc.status}" if exc.status is not None else "telnyx_error"
