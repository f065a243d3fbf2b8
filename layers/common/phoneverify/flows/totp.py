"""An authenticator app (RFC 6238; docs/factors.md#authenticator-app): enrolled behind the
step-up, its secret shown once (an `otpauth://` URI; the edge draws its QR code) and kept
encrypted, confirmed by a first code, which gives the account ten recovery codes; removed
behind the step-up, with a notice to the account's phone (a phoneless account's proven email:
flows/engine/removal_notice.py).

The pending secret waits in an enrolment challenge (`Challenges.open_unsent`, kind
TOTP_ENROL): encrypted in its data, owned by the account, under the same attempt cap, expiry
and account-wide wrong-code count as an SMS code."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.email_messages import EmailNotice
from phoneverify.domain.errors import NotAuthenticated
from phoneverify.domain.factor_errors import FactorAlreadyEnrolled, FactorNotEnrolled
from phoneverify.domain.models import (
    FlowKind,
    NoticeEvent,
    PendingVerification,
    RequestOrigin,
    User,
)
from phoneverify.domain.recovery_codes import digests_of, new_codes
from phoneverify.domain.totp import matching_step, new_secret, provisioning_uri
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.email_notices import EmailNotices
from phoneverify.flows.engine.removal_notice import RemovalNotice
from phoneverify.flows.engine.step_up import Caller, StepUp
from phoneverify.flows.factor_checks import decrypt_secret, encrypt_secret, unseal_b64
from phoneverify.ports.accounts import UserLookup
from phoneverify.ports.factors import AccountFactors, Encryption
from phoneverify.ports.messaging import AccountNotices

SECRET = "totp_secret"  # noqa: S105 - enrolment data: the pending secret, encrypted (base64)
ENROL = "totp_enrol"  # the step-up's action names in the audit
REMOVE = "totp_remove"
RESTART_HINT = "Start adding the app again."
TOO_MANY_ATTEMPTS = "Too many attempts. Please start adding the app again."


@dataclass(frozen=True)
class TotpEnrolmentStarted:
    """The secret, shown this once: `otpauth_uri` carries it (the edge draws its QR code)."""

    flow_id: str
    otpauth_uri: str
    timeout_secs: int


@dataclass(frozen=True)
class TotpEnrolled:
    """The app is on the account; the ten recovery codes, shown this once."""

    recovery_codes: tuple[str, ...]


class TotpFactor:
    def __init__(
        self,
        *,
        users: UserLookup,
        factors: AccountFactors,
        encryption: Encryption,
        challenges: Challenges,
        step_up: StepUp,
        audit: FlowAudit,
        clock: Clock,
        pepper: Callable[[], bytes],
        notices: AccountNotices | None = None,
        email_notices: EmailNotices | None = None,
    ) -> None:
        """`email_notices`: where a phoneless account is told of the app's removal (its
        proven email); None: a function that sends no email."""
        self._users = users
        self._factors = factors
        self._encryption = encryption
        self._challenges = challenges
        self._step_up = step_up
        self._audit = audit
        self._clock = clock
        self._pepper = pepper
        self._notices = notices
        self._removal_notice = RemovalNotice(
            notices=notices, email_notices=email_notices, audit=audit
        )

    def start(self, caller: Caller, origin: RequestOrigin) -> TotpEnrolmentStarted:
        """A fresh secret for the caller's account, after the step-up (ReauthRequired)."""
        user = self._account(caller)
        self._step_up.require(caller, user, origin, action=ENROL)
        if user.totp_enrolled_at is not None:
            raise FactorAlreadyEnrolled()
        secret = new_secret()
        sealed = encrypt_secret(self._encryption, user.user_id, secret)
        opened = self._challenges.open_unsent(
            user.user_id, user.phone_number or "", origin, data={SECRET: sealed}
        )
        return TotpEnrolmentStarted(
            flow_id=opened.flow_id,
            otpauth_uri=provisioning_uri(secret, user.email),
            timeout_secs=opened.timeout_secs,
        )

    def verify(
        self, caller: Caller, flow_id: str, code: str, origin: RequestOrigin
    ) -> TotpEnrolled:
        """Keep the app once its first code is right (the caller's own enrolment only), with
        that code's step as used; the account gets ten fresh recovery codes."""
        steps: list[int] = []

        def right(record: PendingVerification, given: str) -> bool:
            secret = decrypt_secret(self._encryption, record.subject, str(record.data[SECRET]))
            step = matching_step(secret, given, self._clock.now())
            if step is not None:
                steps.append(step)
            return step is not None

        record = self._challenges.check(flow_id, code, origin, owner=caller.user_id, verifier=right)
        codes = new_codes()
        digests = digests_of(self._pepper(), codes)
        sealed = unseal_b64(str(record.data[SECRET]))
        if not self._factors.enable_totp(
            record.subject, sealed, self._clock.now(), steps[-1], digests
        ):
            raise FactorAlreadyEnrolled()
        self._audit.record(
            VerificationEventType.TOTP_ENROLLED, record.subject, origin, kind=FlowKind.TOTP_ENROL
        )
        self._notify(record.subject, record.phone_number, NoticeEvent.TOTP_ADDED)
        return TotpEnrolled(tuple(codes))

    def remove(self, caller: Caller, origin: RequestOrigin) -> None:
        """Remove the account's app, after the step-up; the account's phone is told."""
        user = self._account(caller)
        self._step_up.require(caller, user, origin, action=REMOVE)
        held = user.passkey_count > 0
        if user.totp_enrolled_at is None or not self._factors.remove_totp(
            user.user_id, passkeys_expected=held
        ):
            raise FactorNotEnrolled()
        self._audit.record(
            VerificationEventType.TOTP_REMOVED, user.user_id, origin, kind=FlowKind.TOTP_ENROL
        )
        self._removal_notice.tell(
            user,
            origin,
            sms=NoticeEvent.TOTP_REMOVED,
            email=EmailNotice.TOTP_REMOVED,
            kind=FlowKind.TOTP_ENROL,
        )

    def _notify(self, user_id: str, phone: str | None, event: NoticeEvent) -> None:
        if self._notices is not None and phone:
            self._notices.notify(phone, event)

    def _account(self, caller: Caller) -> User:
        user = self._users.get(caller.user_id)
        if user is None:  # a valid token of an account that no longer exists
            raise NotAuthenticated()
        return user
