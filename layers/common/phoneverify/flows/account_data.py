"""The person's own data (docs/privacy.md): everything held about them in one answer
(GET /account/export), and the account deleted (POST /account/delete), each behind the step-up.

A deletion is one transaction (adapters/dynamo/account_deletion.py): the account, its email and
phone pointers, its passkeys and a waiting swap deleted; the phone's last notice put in the
outbox; and a marker of the cleanup still to do. From that instant every token of the account
is refused (`account_gone`), every flow of it fails its own condition (each is bound to the
account's item), the email and the number are free, and the notice will go. The cleanup
(flows/account_deletion.py) runs at once: the pending payments cancelled, the count of
payments without a code forgotten, every audit record of the person pseudonymised, the marker
deleted; a crash before its end leaves the marker to `finish_deletions`. The email's notice
is sent by the request (best effort: SES, no outbox)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.deletion import DeletionMarker
from phoneverify.domain.email_messages import EmailNotice
from phoneverify.domain.emails import unknown_subject
from phoneverify.domain.errors import NotAuthenticated, StorageUnavailable
from phoneverify.domain.factors import enrolled_factors
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.models import (
    FlowKind,
    NoticeEvent,
    Payment,
    RequestOrigin,
    User,
)
from phoneverify.domain.notices import OutboxNotice, notice_id, notice_subject
from phoneverify.domain.throttling import account_key
from phoneverify.flows.account_deletion import DeletionCleanup
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.email_notices import EmailNotices
from phoneverify.flows.engine.step_up import Caller, StepUp
from phoneverify.ports.account_data import (
    AccountDeletion,
    Alongside,
    AuditReader,
    DeletedAccount,
    PasskeyList,
    PaymentHistory,
)
from phoneverify.ports.accounts import UserLookup

logger = logging.getLogger(__name__)

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
        cleanup: DeletionCleanup,
        step_up: StepUp,
        audit: FlowAudit,
        clock: Clock,
        pepper: Callable[[], bytes],
        occasion: Callable[[], str],
        email_notices: EmailNotices | None = None,
    ) -> None:
        self._users = users
        self._deletion = deletion
        self._payments = payments
        self._passkeys = passkeys
        self._trail = trail
        self._cleanup = cleanup
        self._step_up = step_up
        self._audit = audit
        self._clock = clock
        self._pepper = pepper
        self._occasion = occasion
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
        events = [
            event
            for subject in self._subjects(user.user_id, user.email, user.phone_number)
            for event in self._trail.events_for(subject, AUDIT_EVENTS_PER_SUBJECT)
        ]
        return sorted(events, key=lambda event: str(event.get("sk", "")), reverse=True)

    def _subjects(self, user_id: str, email: str, phone: str | None) -> tuple[str, ...]:
        """The audit subjects of a person, as the trail stores them (keyed digests)."""
        pepper = self._pepper()
        subjects = [user_id, _keyed(pepper, unknown_subject(account_key(email)))]
        if phone:
            subjects.append(_keyed(pepper, notice_subject(phone)))
        return tuple(subjects)

    # -- delete ----------------------------------------------------------------------------
    def delete(self, caller: Caller, origin: RequestOrigin) -> None:
        user = self._account(caller)
        self._step_up.require(caller, user, origin, action=DELETE)
        now = self._clock.now()
        occasion = self._occasion()

        def alongside(account: DeletedAccount) -> Alongside:
            """The phone's notice and the cleanup's marker, in the deletion's transaction."""
            event = NoticeEvent.ACCOUNT_DELETED
            phone = account.phone_number
            notice = (
                OutboxNotice(notice_id(occasion, phone, event), phone, event, now)
                if phone
                else None
            )
            return Alongside(notice, self._marker(user.user_id, account, now))

        deleted = self._deletion.delete(user.user_id, alongside)
        if deleted is None:  # a deletion racing this one was first
            raise NotAuthenticated()
        # Recorded before the cleanup, which pseudonymises it with the person's other records.
        self._audit.record(
            VerificationEventType.ACCOUNT_DELETED, user.user_id, origin, kind=FlowKind.SESSION
        )
        if self._email_notices is not None:
            self._email_notices.tell(deleted.email, EmailNotice.ACCOUNT_DELETED)
        try:
            self._cleanup.finish(self._marker(user.user_id, deleted, now), origin)
        except StorageUnavailable:  # the account is gone; its marker waits for finish_deletions
            logger.warning("deletion cleanup left to finish_deletions")

    def _marker(self, user_id: str, account: DeletedAccount, now: float) -> DeletionMarker:
        """What the cleanup needs: the account's id and its audit subjects, keyed."""
        subjects = self._subjects(user_id, account.email, account.phone_number)
        return DeletionMarker(user_id, subjects, now)

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
