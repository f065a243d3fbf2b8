"""Self-service recovery: a new password, once a code sent to the account's phone is proven.

`start` answers the same, after the same send limits and in about the same time, whether the
email has an account with a phone or not: for an unknown email (or an account without a phone)
the flow is a decoy that sends nothing and accepts no code. `verify` sets the new password
(sign-up's rules), ends every token of the account, clears the wrong-code lock and the
password throttle, and sends a notice to the account's phone (never a code or a link). A reset
flow is not held by the account's lock: it is the way out of one.
"""

from __future__ import annotations

import hashlib
import logging
from contextlib import nullcontext
from dataclasses import dataclass

from phoneverify.domain.clock import Clock
from phoneverify.domain.emails import parse_email, unknown_subject
from phoneverify.domain.errors import AccountPhoneNotAllowed, ChannelNotAllowed
from phoneverify.domain.models import Channel, NoticeEvent, RequestOrigin, VerificationEventType
from phoneverify.domain.passwords import PasswordHasher, check_password
from phoneverify.domain.throttling import account_key
from phoneverify.flows.challenges import Challenges, OpenedChallenge, Resent
from phoneverify.flows.gate import ProofOfWorkGate
from phoneverify.ports import AccountNotices, AccountRecovery, PasswordThrottle

logger = logging.getLogger(__name__)

RESTART_HINT = "Start the password reset again."
TOO_MANY_ATTEMPTS = "Too many attempts. Please start the password reset again."
NEW_PASSWORD = "new_password"  # noqa: S105 - the field name


@dataclass(frozen=True)
class PasswordResetDone:
    """The new password holds; every earlier token of the account is ended."""


def stand_in_phone(key: str, calling_code: int) -> str:
    """A number a decoy pretends to send to: stable per email, so a repeated request shows the
    same hint. Never dialled."""
    digits = str(int(hashlib.sha256(f"decoy:{key}".encode()).hexdigest(), 16))[-10:]
    return f"+{calling_code}{digits}"


class PasswordResetFlow:
    def __init__(
        self,
        *,
        users: AccountRecovery,
        passwords: PasswordHasher,
        challenges: Challenges,
        throttle: PasswordThrottle,
        clock: Clock,
        decoy_calling_code: int = 1,
        notices: AccountNotices | None = None,
        gate: ProofOfWorkGate | None = None,
    ) -> None:
        """`gate`: the proof-of-work gate `start` passes through first (None: off)."""
        self._gate = gate
        self._users = users
        self._passwords = passwords
        self._challenges = challenges
        self._throttle = throttle
        self._clock = clock
        self._decoy_calling_code = decoy_calling_code
        self._notices = notices

    def start(
        self,
        email: str,
        origin: RequestOrigin,
        channel: Channel | None = None,
        proof: str | None = None,
    ) -> OpenedChallenge:
        """A code to the account's phone, or a decoy that answers alike. The gate comes
        first, before anything about the email is looked at: whether a solution is asked for
        depends on the source alone, never on the account (that would tell it exists)."""
        gate = self._gate
        vouched = gate.vouch(proof, origin) if gate is not None else False
        # Where the source is at risk (its reset tier's count: the same for a real flow and
        # a decoy) the send guard asks for a solution: audited as the gate's own refusals.
        with gate.asking(origin) if gate is not None else nullcontext():
            return self._open(
                email, origin, channel, gated=gate is not None and gate.on, vouched=vouched
            )

    def _open(
        self,
        email: str,
        origin: RequestOrigin,
        channel: Channel | None,
        *,
        gated: bool,
        vouched: bool,
    ) -> OpenedChallenge:
        address = parse_email(email)
        key = account_key(address)
        user = self._users.find_by_email(address)
        data = {"email": address, "name": (user.name if user else None) or ""}
        if user is not None and user.phone_number:
            try:
                return self._challenges.open(
                    user.user_id,
                    user.phone_number,
                    origin,
                    data=data,
                    channel=channel,
                    phone_generation=user.phone_generation,
                    gated=gated,
                    vouched=vouched,
                )
            except (AccountPhoneNotAllowed, ChannelNotAllowed):
                # Refusing here would tell that the account exists (or where its phone is);
                # a channel refused by setting is refused to the decoy below alike.
                logger.warning("password reset for a phone the policy or channel refuses")
        return self._challenges.open(
            unknown_subject(key),
            stand_in_phone(key, self._decoy_calling_code),
            origin,
            data=data,
            decoy=True,
            channel=channel,
            gated=gated,
            vouched=vouched,
        )

    def verify(
        self, flow_id: str, code: str, new_password: str, origin: RequestOrigin
    ) -> PasswordResetDone:
        """The new password is checked before the code, so a refused password costs no
        attempt; then the code is consumed and the password set."""
        pending = self._challenges.peek(flow_id, origin)
        email = pending.data.get("email") or ""
        context = (email, email.partition("@")[0], pending.data.get("name") or "")
        check_password(new_password, context=context, field=NEW_PASSWORD)
        record = self._challenges.check(flow_id, code, origin)
        user_id = record.subject
        self._users.reset_password(user_id, self._passwords.hash(new_password), self._clock.now())
        self._challenges.unlock_account(user_id)
        self._throttle.clear(account_key(email))
        self._challenges.record(VerificationEventType.PASSWORD_RESET, user_id, origin)
        if self._notices is not None:
            # The code went to the account's number: the notice goes there too.
            self._notices.notify(record.phone_number, NoticeEvent.PASSWORD_RESET)
        return PasswordResetDone()

    def resend(self, flow_id: str, origin: RequestOrigin, channel: Channel | None = None) -> Resent:
        return self._challenges.resend(flow_id, origin, channel)
