"""The notice of a stronger factor's removal (docs/factors.md, docs/notices.md), one path for
the passkey's and the app's: to the account's phone (the notices outbox); an account without
one, to its email once proven (never to an address nobody proved); else audited as told to
nobody (`notice_failed`, reason `no_phone_or_proven_email`). A notice never fails or undoes
the removal it tells of."""

from __future__ import annotations

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.email_messages import EmailNotice
from phoneverify.domain.models import FlowKind, NoticeEvent, RequestOrigin, User
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.email_notices import EmailNotices
from phoneverify.ports.messaging import AccountNotices

NOBODY = "no_phone_or_proven_email"


class RemovalNotice:
    def __init__(
        self,
        *,
        notices: AccountNotices | None,
        email_notices: EmailNotices | None,
        audit: FlowAudit,
    ) -> None:
        """`notices` None: the phone is never told (tests of other rules); `email_notices`
        None: a function that sends no email (its settings are not EmailSettings)."""
        self._notices = notices
        self._email_notices = email_notices
        self._audit = audit

    def tell(
        self,
        user: User,
        origin: RequestOrigin,
        *,
        sms: NoticeEvent,
        email: EmailNotice,
        kind: FlowKind,
    ) -> None:
        if user.phone_number:
            if self._notices is not None:
                self._notices.notify(user.phone_number, sms)
        elif self._email_notices is not None and user.email_proven_at is not None:
            self._email_notices.tell(user.email, email)
        else:
            self._audit.record(
                VerificationEventType.NOTICE_FAILED,
                user.user_id,
                origin,
                kind=kind,
                notice=sms.value,
                reason=NOBODY,
            )
