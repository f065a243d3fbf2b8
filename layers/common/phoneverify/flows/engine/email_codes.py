"""Codes by email: a `CodeSender` whose codes we make ourselves (Telnyx Verify keeps its own
codes; an email service only carries text), so `Challenges` drives an email code like any
other: the send limits, the attempt cap and its lease, the expiry checked on read, the account
lock's count, cancel and status.

The code is `code_length` digits from `secrets.randbelow`; what the flow keeps as its
verification id is a fresh nonce and a keyed digest of nonce and code under the pepper
(domain/keyed.py): whoever reads the table cannot get the code back, and a resend (a fresh
nonce) ends the earlier code. The address is the challenge's "phone number" (what a resend
sends to); the send limits count it under its stand-in number (`counted_as`)."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable

from phoneverify.domain.email_messages import CodePurpose, code_email
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.models import Channel
from phoneverify.ports.messaging import EmailSender

PREFIX = "email_"


class EmailCodeSender:
    def __init__(
        self,
        emails: EmailSender,
        *,
        code_length: int,
        timeout_secs: int,
        pepper: Callable[[], bytes],
        service_name: str,
        purpose: CodePurpose,
    ) -> None:
        self._emails = emails
        self._purpose = purpose
        self._length = code_length
        self._minutes = max(1, timeout_secs // 60)
        self._pepper = pepper
        self._service = service_name

    def send(self, phone_number: str, channel: Channel = Channel.SMS) -> str:
        """`phone_number` is the address here; `channel` is the flow's nominal one."""
        code = f"{secrets.randbelow(10**self._length):0{self._length}d}"
        nonce = secrets.token_hex(16)
        verification_id = self._id(nonce, code)
        message = code_email(self._service, code, self._minutes, self._purpose)
        self._emails.send(phone_number, message)
        return verification_id

    def check(self, verification_id: str, code: str) -> bool:
        nonce = verification_id.removeprefix(PREFIX).partition("_")[0]
        if not verification_id.startswith(PREFIX) or not nonce:
            return False
        return hmac.compare_digest(verification_id, self._id(nonce, code))

    def unmatchable(self) -> str:
        """A verification id of the same shape that no code matches: what a flow keeps where
        no code was sent (an address that belongs to another account)."""
        return f"{PREFIX}{secrets.token_hex(16)}_{secrets.token_hex(32)}"

    def ready(self, *, sending: bool) -> None:
        self._pepper()
        if sending:
            self._emails.ready()

    def _id(self, nonce: str, code: str) -> str:
        return f"{PREFIX}{nonce}_{keyed_digest(self._pepper(), f'email-code:{nonce}:{code}')}"
