"""The local stack's email outbox: what the functions send through SES v2 (`sesv2`
SendEmail, POST /v2/email/outbound-emails, reached with AWS_ENDPOINT_URL_SESV2) is kept here
and read back with GET /_emulator/emails?to=, as the SMS are with /_emulator/messages. Only
the simple content SendEmail takes from the functions; nothing is ever delivered."""

from __future__ import annotations

import re
import secrets
import threading
import time
from collections.abc import Callable
from typing import Any

SEND_EMAIL_PATH = "/v2/email/outbound-emails"
CODE = re.compile(r"code is (\d{4,10})")


class BadEmailRequest(ValueError):
    """A SendEmail body SES would refuse (answered 400 BadRequestException)."""


class EmailOutbox:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._emails: list[dict[str, Any]] = []
        # Told of each email kept, one recipient at a time (the local stack's SES events:
        # devtools/local_stack/ses_events.py); it must not block.
        self.listener: Callable[[dict[str, Any]], None] | None = None

    def send(self, body: Any) -> dict[str, str]:
        """Keep one SendEmail; answers SES's {"MessageId": ...}."""
        if not isinstance(body, dict):
            raise BadEmailRequest("The request body must be a JSON object.")
        to = (body.get("Destination") or {}).get("ToAddresses") or []
        simple = (body.get("Content") or {}).get("Simple") or {}
        subject = (simple.get("Subject") or {}).get("Data")
        text = ((simple.get("Body") or {}).get("Text") or {}).get("Data")
        sender = body.get("FromEmailAddress")
        if not sender or not to or not isinstance(subject, str) or not isinstance(text, str):
            raise BadEmailRequest("FromEmailAddress, Destination and Content.Simple are required.")
        message_id = secrets.token_hex(16)
        found = CODE.search(text)
        kept = [
            {
                "id": message_id,
                "from": sender,
                "to": str(address).lower(),
                "subject": subject,
                "text": text,
                "code": found.group(1) if found else None,
                "created_at": time.time(),
            }
            for address in to
        ]
        with self._lock:
            for email in kept:
                self._emails.insert(0, email)
        listener = self.listener
        if listener is not None:
            for email in kept:
                listener(dict(email))
        return {"MessageId": message_id}

    def emails(self, to: str | None) -> list[dict[str, Any]]:
        """Newest first; only those to `to` when given."""
        with self._lock:
            return [dict(e) for e in self._emails if to is None or e["to"] == to.lower()]

    def reset(self) -> None:
        with self._lock:
            self._emails.clear()
