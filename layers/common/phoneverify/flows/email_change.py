"""The account's email (docs/email.md): a proven email can change, and an unproven one (an
account made before sign-up proved emails) can be proven.

`start` takes the address. The account's own, not yet proven: a code to it, with no step-up
(proving it changes nothing but the mark). Any other: the step-up's `Reauth-Token` first, then
a code to it, or, when another account holds it, that account's owner gets the "someone
tried" notice instead, after the same work (flows/engine/email_proof.py), and the code can
never be right: the person changing learns nothing of who is registered. `verify` proves the
address with its code; then the account takes it (one transaction with its `EMAIL#` pointers;
both addresses are told), or marks its own proven.
"""

from __future__ import annotations

from dataclasses import dataclass

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.email_messages import EmailNotice
from phoneverify.domain.emails import parse_email
from phoneverify.domain.errors import (
    EmailAlreadyRegistered,
    EmailSuperseded,
    InvalidRequest,
    NotAuthenticated,
)
from phoneverify.domain.models import FlowKind, RequestOrigin
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.email_notices import EmailNotices
from phoneverify.flows.engine.policy import OpenedChallenge
from phoneverify.flows.engine.step_up import Caller, StepUp
from phoneverify.ports.accounts import AccountEmails
from phoneverify.ports.messaging import EmailSender

RESTART_HINT = "Start the email change again."
TOO_MANY_ATTEMPTS = "Too many attempts. Please start the email change again."
ALREADY_PROVEN = "This is already your account's email."
EMAIL = "email"  # data key: the address the code went to
OLD_EMAIL = "old_email"  # data key: the account's email when the flow began


@dataclass(frozen=True)
class EmailChanged:
    email: str
    changed: bool  # False: the account proved the address it had


class EmailChangeFlow:
    def __init__(
        self,
        *,
        users: AccountEmails,
        change: Challenges,
        prove: Challenges,
        step_up: StepUp,
        audit: FlowAudit,
        emails: EmailSender,
        clock: Clock,
        service_name: str,
    ) -> None:
        """`change`: a Challenges over an EmailProofSender (an address another account holds
        gets its owner's notice, not a code); `prove`: one over the plain EmailCodeSender,
        for the account's own address. Both check codes alike."""
        self._users = users
        self._change = change
        self._prove = prove
        self._step_up = step_up
        self._audit = audit
        self._notices = EmailNotices(emails, service_name)
        self._clock = clock

    def start(self, caller: Caller, email: str, origin: RequestOrigin) -> OpenedChallenge:
        address = parse_email(email)
        user = self._users.get(caller.user_id)
        if user is None:  # a valid token of an account that no longer exists
            raise NotAuthenticated()
        data = {EMAIL: address, OLD_EMAIL: user.email}
        if address == user.email:
            if user.email_proven_at is not None:
                raise InvalidRequest(ALREADY_PROVEN, field="email")
            return self._prove.open(user.user_id, address, origin, data=data)
        self._step_up.require(caller, user, origin, action=FlowKind.EMAIL_CHANGE.value)
        return self._change.open(user.user_id, address, origin, data=data)

    def verify(self, user_id: str, flow_id: str, code: str, origin: RequestOrigin) -> EmailChanged:
        """The address's code; then the account takes the address (or marks its own proven).
        A failed notice never undoes the change."""
        record = self._change.check(flow_id, code, origin, owner=user_id)
        new, old = record.data[EMAIL], record.data[OLD_EMAIL]
        now = self._clock.now()
        try:
            if new == old:
                self._users.prove_email(user_id, new, now)
            else:
                self._users.change_email(user_id, old, new, now)
        except (EmailAlreadyRegistered, EmailSuperseded) as refused:
            self._audit.emit(
                VerificationEventType.EMAIL_CHANGE_REFUSED, record, origin, reason=refused.code
            )
            if isinstance(refused, EmailSuperseded):
                raise EmailSuperseded(f"{EmailSuperseded.message} {RESTART_HINT}") from None
            raise
        if new == old:
            self._audit.emit(VerificationEventType.EMAIL_PROVEN, record, origin)
            return EmailChanged(new, changed=False)
        self._audit.emit(VerificationEventType.EMAIL_CHANGED, record, origin)
        self._notices.tell(old, EmailNotice.EMAIL_CHANGED)
        self._notices.tell(new, EmailNotice.EMAIL_ADDED)
        return EmailChanged(new, changed=True)
