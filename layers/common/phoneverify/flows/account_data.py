"""The person's own data (docs/privacy.md): everything held about them in one answer
(GET /account/export), and the account deleted (POST /account/delete), each behind the step-up.

A deletion is one transaction on UsersTable (the account, its email and phone pointers, its
passkeys and a waiting swap; adapters/dynamo/account_deletion.py): from that instant every
token of the account is refused (`account_gone`), every flow of it fails its own condition
(each is bound to the account's item), and the email and the number are free. What follows is
cleanup that a crash may leave undone without harm: the pending payments are cancelled (their
codes could no longer be accepted anyway: the code's phone binding finds no account), the
count of payments without a code is forgotten, and the last notices go (SMS through the outbox,
which keeps the number only until it is delivered; and an email)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.email_messages import EmailNotice
from phoneverify.domain.emails import unknown_subject
from phoneverify.domain.errors import NotAuthenticated
from phoneverify.domain.factors import enrolled_factors
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.models import (
    FlowKind,
    NoticeEvent,
    Payment,
    PaymentStatus,
    RequestOrigin,
    User,
)
from phoneverify.domain.notices import notice_subject
from phoneverify.domain.throttling import account_key
from phoneverify.flows.engine.any_flow import AnyFlow
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.email_notices import EmailNotices
from phoneverify.flows.engine.step_up import Caller, StepUp
from phoneverify.ports.account_data import (
    AccountDeletion,
    AuditReader,
    PasskeyList,
    PaymentHistory,
)
from phoneverify.ports.accounts import UserLookup
from phoneverify.ports.messaging import AccountNotices

EXPORT = "account_export"  # the step-up's action names in the audit
DELETE = "account_delete"
AUDIT_EVENTS_PER_SUBJECT = 250
SESSIONS_KEPT = (
    "Sessions are signed tokens that live an hour; none is stored. Kept: the account's token "
    "generation (every token issued under an older one is refused) and, for an hour, the id "
    "of each token ended by a logout (never whose it was)."
)


@dataclass(frozen=True)
class AccountExport:
    """Every datum held about the person, as JSON-ready sections."""

    profile: dict[str, Any]
    phone: dict[str, Any] | None
    factors: dict[str, Any]
    sessions: dict[str, Any]
    payments: list[dict[str, Any]]
    audit_events: list[dict[str, Any]]


class AccountData:
    def __init__(
        self,
        *,
        users: UserLookup,
        deletion: AccountDeletion,
        payments: PaymentHistory,
        passkeys: PasskeyList,
        trail: AuditReader,
        flows: AnyFlow,
        step_up: StepUp,
        audit: FlowAudit,
        clock: Clock,
        pepper: Callable[[], bytes],
        notices: AccountNotices | None = None,
        email_notices: EmailNotices | None = None,
    ) -> None:
        self._users = users
        self._deletion = deletion
        self._payments = payments
        self._passkeys = passkeys
        self._trail = trail
        self._flows = flows
        self._step_up = step_up
        self._audit = audit
        self._clock = clock
        self._pepper = pepper
        self._notices = notices
        self._email_notices = email_notices

    # -- export ----------------------------------------------------------------------------
    def export(self, caller: Caller, origin: RequestOrigin) -> AccountExport:
        user = self._account(caller)
        self._step_up.require(caller, user, origin, action=EXPORT)
        return AccountExport(
            profile={
                "user_id": user.user_id,
                "name": user.name,
                "email": user.email,
                "email_proven_at": _int(user.email_proven_at),
                "created_at": _int(user.created_at),
            },
            phone=None
            if not user.phone_number
            else {"phone_number": user.phone_number, "phone_generation": user.phone_generation},
            factors=self._factors(user),
            sessions={"token_generation": user.token_generation, "kept": SESSIONS_KEPT},
            payments=[_payment(p) for p in self._payments.of_payer(user.user_id)],
            audit_events=self._events(user),
        )

    def _factors(self, user: User) -> dict[str, Any]:
        """The factors' kinds and dates, never a secret, a digest or a public key."""
        return {
            "kinds": [kind.value for kind in enrolled_factors(user)],
            "totp_enrolled_at": _int(user.totp_enrolled_at),
            "recovery_codes_left": user.recovery_codes_left,
            "passkeys": [
                {
                    "passkey_id": key.passkey_id,
                    "created_at": _int(key.created_at),
                    "last_used_at": _int(key.last_used_at),
                    "transports": list(key.transports),
                }
                for key in self._passkeys.of_account(user.user_id)
            ],
        }

    def _events(self, user: User) -> list[dict[str, Any]]:
        """The audit records under the account's id, and those under the keyed digests of its
        number (notices) and of its email (password decisions made before the account was
        known), newest first."""
        pepper = self._pepper()
        subjects = [user.user_id, _keyed(pepper, unknown_subject(account_key(user.email)))]
        if user.phone_number:
            subjects.append(_keyed(pepper, notice_subject(user.phone_number)))
        events = [
            event
            for subject in subjects
            for event in self._trail.events_for(subject, AUDIT_EVENTS_PER_SUBJECT)
        ]
        return sorted(events, key=lambda event: str(event.get("sk", "")), reverse=True)

    # -- delete ----------------------------------------------------------------------------
    def delete(self, caller: Caller, origin: RequestOrigin) -> None:
        user = self._account(caller)
        self._step_up.require(caller, user, origin, action=DELETE)
        deleted = self._deletion.delete(user.user_id)
        if deleted is None:  # a deletion racing this one was first
            raise NotAuthenticated()
        self._audit.record(
            VerificationEventType.ACCOUNT_DELETED, user.user_id, origin, kind=FlowKind.SESSION
        )
        if self._notices is not None and deleted.phone_number:
            self._notices.notify(deleted.phone_number, NoticeEvent.ACCOUNT_DELETED)
        if self._email_notices is not None:
            self._email_notices.tell(deleted.email, EmailNotice.ACCOUNT_DELETED)
        self._cancel_payments(user.user_id, origin)

    def _cancel_payments(self, user_id: str, origin: RequestOrigin) -> None:
        """Each pending payment cancelled by its lifecycle's conditional write (a confirmation
        that moved it to processing first wins, and completes), then its code."""
        now = self._clock.now()
        for payment in self._payments.of_payer(user_id):
            if payment.status is not PaymentStatus.PENDING:
                continue
            if self._payments.cancel(payment.payment_id, now) and payment.flow_id:
                self._flows.cancel(payment.flow_id, origin)
        self._payments.forget_payer(user_id)

    def _account(self, caller: Caller) -> User:
        user = self._users.get(caller.user_id)
        if user is None:  # a valid token of an account that no longer exists
            raise NotAuthenticated()
        return user


def _keyed(pepper: bytes, subject: str) -> str:
    """`subject` as the audit trail stores it (adapters/event_log.py keyed_subject)."""
    prefix, _, plain = subject.partition("#")
    return f"{prefix}#{keyed_digest(pepper, plain)}"


def _int(value: float | None) -> int | None:
    return None if value is None else int(value)


def _payment(payment: Payment) -> dict[str, Any]:
    return {
        "payment_id": payment.payment_id,
        "amount": payment.amount,
        "currency": payment.currency,
        "recipient": payment.recipient,
        "description": payment.description,
        "status": payment.status.value,
        "created_at": int(payment.created_at),
        "transaction_id": payment.transaction_id,
    }
