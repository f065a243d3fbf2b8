"""The password check every flow that asks for a password passes: behind the password
throttle (docs/abuse-controls.md#password-throttling), every decision audited. /login checks
a password with it; a signed-in flow (the phone change) asks for it again as fresh
authentication."""

from __future__ import annotations

from collections.abc import Callable

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.emails import unknown_subject
from phoneverify.domain.errors import InvalidCredentials, LoginThrottled
from phoneverify.domain.models import FlowKind, RequestOrigin, User
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.ports.abuse import PasswordThrottle


class PasswordGate:
    """A password check behind the password throttle, every decision audited under `kind`
    (the flow that asks): how /login checks a password, and how a signed-in flow asks for it
    again as fresh authentication."""

    def __init__(
        self,
        *,
        passwords: PasswordHasher,
        throttle: PasswordThrottle,
        audit: FlowAudit,
        kind: FlowKind,
    ) -> None:
        self._passwords = passwords
        self._throttle = throttle
        self._audit = audit
        self._kind = kind

    def check(
        self,
        key: str,
        find_user: Callable[[], User | None],
        password: str,
        origin: RequestOrigin,
        *,
        refusal: InvalidCredentials | None = None,
        vouched: bool = False,
    ) -> User:
        """The account whose password `password` is, or LoginThrottled / InvalidCredentials
        (`refusal`, else the default). The throttle counts the attempt under `key`
        (throttling.account_key) before the account is even looked up; an unknown account
        costs one bcrypt check too. `vouched`: a solved proof of work came, so the source's
        cap of wrong passwords does not refuse (SourceThrottled otherwise)."""
        try:
            attempt = self._throttle.admit(key, origin, vouched=vouched)
        except LoginThrottled as exc:
            # Under the account when the failures that set the wait knew it (the wait keeps
            # whom they were audited under): no lookup here, for known and unknown alike.
            self._audit.record(
                VerificationEventType.LOGIN_THROTTLED,
                exc.subject or unknown_subject(key),
                origin,
                kind=self._kind,
                retry_after=exc.retry_after,
            )
            raise
        user = find_user()
        password_ok = self._passwords.verify(password, user.password_hash if user else None)
        if user is None or not password_ok:
            subject = user.user_id if user else unknown_subject(key)
            wait = self._throttle.failed(attempt, subject)
            self._audit.record(
                VerificationEventType.PASSWORD_REJECTED,
                subject,
                origin,
                kind=self._kind,
                failures=attempt.failures,
                next_wait_secs=wait,
            )
            raise refusal or InvalidCredentials()
        self._throttle.succeeded(attempt)
        self._audit.record(
            VerificationEventType.PASSWORD_ACCEPTED, user.user_id, origin, kind=self._kind
        )
        return user
