"""Telnyx Messaging v2 (`POST /v2/messages`): one plain SMS, for notices to an account's owner.

The body is Telnyx's (the official SDK's `messages.send`): `to`, `text`, and either `from` (a
number of ours, +E.164) or `messaging_profile_id` (a number pool). It shares the Verify
client's transport, authentication and error mapping (`TelnyxError` and its subclasses), so
a refusal, a timeout and a 5xx read the same as they do for codes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from phoneverify.adapters.telnyx.client import TelnyxUnavailable, TelnyxVerifyClient


@dataclass(frozen=True)
class SentMessage:
    id: str
    status: str  # of the recipient, as Telnyx says it ("queued" on acceptance)


def sender_fields(sender: str) -> dict[str, str]:
    """What names the sender in the body: a number of ours (`+...`) is `from`, anything else
    a messaging profile id (Telnyx then picks a number of the profile's pool)."""
    sender = sender.strip()
    return {"from": sender} if sender.startswith("+") else {"messaging_profile_id": sender}


class TelnyxMessagingClient(TelnyxVerifyClient):
    """The Verify client plus `send_sms`; a separate instance, built only by functions that
    send notices."""

    def send_sms(
        self, to: str, text: str, sender: str, *, idempotency_key: str | None = None
    ) -> SentMessage:
        """Send `text` to `to` (+E.164). Raises TelnyxError (its subclasses say why).

        Retries of one message carry one `idempotency_key` (Telnyx's `Idempotency-Key`
        header): a retry after a lost answer sends nothing twice."""
        body: dict[str, Any] = {"to": to, "text": text, "type": "SMS", **sender_fields(sender)}
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        data = self._call("POST", "/messages", body, to, headers)
        recipients = data.get("to")
        first = recipients[0] if isinstance(recipients, list) and recipients else {}
        message_id = data.get("id")
        if not message_id:
            raise TelnyxUnavailable(200, [], "Telnyx message has no id")
        status = first.get("status") if isinstance(first, dict) else None
        return SentMessage(id=str(message_id), status=str(status or "queued"))
