"""Proving an email address without saying whether it has an account (docs/email.md).

- `EmailProofSender`, a CodeSender: a code to an address no account holds; to one that an
  account holds, the "someone tried" notice to its owner instead (at most once per address a
  day; on the other days a pause as long as a send) and a verification id no code matches.
  The same reads and writes either way: the address's pointer (one read), the day's mark
  (one conditional write), one email or a pause as long as one. So a sign-up or an email
  change with a taken address fails at verify exactly as a wrong email code does.
- `EmailSendGuard`, a SendGuard: what a code by email counts in is the email limits
  (domain/email_limits.py), not an SMS tier: a Challenges that sends by email is built with it.
- `EmailProof`: the two together for a flow whose code by email rides beside its SMS code
  (a sign-up): counted, sent, given back when the send fails."""

from __future__ import annotations

import time
from collections.abc import Callable

from phoneverify.domain.email_limits import address_key
from phoneverify.domain.email_messages import EmailNotice, notice_email
from phoneverify.domain.models import Channel, PhoneBinding, RequestOrigin, SendPermit
from phoneverify.domain.tiers import SendTier
from phoneverify.flows.engine.challenge_records import ProviderTimings
from phoneverify.flows.engine.email_codes import EmailCodeSender
from phoneverify.ports.abuse import AccountLock
from phoneverify.ports.accounts import UserRepository
from phoneverify.ports.messaging import EmailLimits, EmailSender

# The day's mark of an address a code went to: a key apart from the notice's, so that a code
# today does not silence the notice of a later attempt on the same address.
CODE_MARK = "code:"


class EmailProofSender:
    def __init__(
        self,
        *,
        users: UserRepository,
        limits: EmailLimits,
        codes: EmailCodeSender,
        emails: EmailSender,
        pepper: Callable[[], bytes],
        service_name: str,
        pause: Callable[[float], None] = time.sleep,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._users = users
        self._limits = limits
        self._codes = codes
        self._emails = emails
        self._pepper = pepper
        self._service = service_name
        self._pause = pause
        self._timer = timer
        self._timings = ProviderTimings()

    def send(self, phone_number: str, channel: Channel = Channel.SMS) -> str:
        """`phone_number` is the address (as for EmailCodeSender)."""
        address = phone_number
        key = address_key(self._pepper(), address)
        taken = self._users.email_holder(address) is not None
        first_today = self._limits.first_try_today(key if taken else CODE_MARK + key)
        if not taken:
            return self._timings.timed(lambda: self._codes.send(address), self._timer)
        if first_today:
            notice = notice_email(self._service, EmailNotice.SOMEONE_TRIED)
            self._timings.timed(lambda: self._emails.send(address, notice), self._timer)
        else:
            self._codes.ready(sending=True)
            self._timings.pause_like(self._pause)
        return self._codes.unmatchable()

    def check(self, verification_id: str, code: str) -> bool:
        return self._codes.check(verification_id, code)

    def ready(self, *, sending: bool) -> None:
        self._codes.ready(sending=sending)


class EmailSendGuard:
    """SendGuard over the email limits: `phone_number` is the address. With `account_lock`,
    the account must not be locked (one read before the count); an email flow is bound to no
    phone, so no `binding` is ever given."""

    def __init__(
        self,
        limits: EmailLimits,
        pepper: Callable[[], bytes],
        failures: AccountLock | None = None,
    ) -> None:
        self._limits = limits
        self._pepper = pepper
        self._failures = failures

    def admit(
        self,
        phone_number: str,
        subject: str,
        origin: RequestOrigin,
        channel: Channel = Channel.SMS,
        binding: PhoneBinding | None = None,
        *,
        account_lock: bool = False,
        tier: SendTier = SendTier.VERIFIED,
        gated: bool = False,
        vouched: bool = False,
    ) -> SendPermit:
        if binding is not None:
            raise ValueError("a code by email is bound to no phone")
        if account_lock and self._failures is not None:
            self._failures.ensure_unlocked(subject)
        return self._limits.admit_email(address_key(self._pepper(), phone_number), origin)

    def release(self, permit: SendPermit) -> None:
        self._limits.release(permit)


class EmailProof:
    """A code by email beside a flow's own (a sign-up's): `send` counts it in the email
    limits and sends it (or the notice, for a taken address), giving the count back if the
    send fails; `check` tells whether a code is the one sent."""

    def __init__(self, guard: EmailSendGuard, sender: EmailProofSender) -> None:
        self._guard = guard
        self._sender = sender

    def send(self, address: str, subject: str, origin: RequestOrigin) -> str:
        """The verification id to keep with the flow."""
        permit = self._guard.admit(address, subject, origin)
        try:
            return self._sender.send(address)
        except BaseException:
            self._guard.release(permit)
            raise

    def check(self, verification_id: str, code: str) -> bool:
        return self._sender.check(verification_id, code)
