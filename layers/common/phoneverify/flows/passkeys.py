"""The account's passkeys (docs/factors.md#passkeys): add one behind the step-up, list them,
remove one behind the step-up (its owner told through the notices outbox).

Adding is two requests: `creation_options` keeps a random challenge for the account (one use,
a few minutes) and answers WebAuthn's creation options, excluding the passkeys it holds;
`register` spends that challenge (the one the browser signed, for this account and purpose),
lets the library verify the attestation against it, the RP id and the origins, and keeps the
credential only if no account holds its id yet."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.email_messages import EmailNotice
from phoneverify.domain.errors import NotAuthenticated
from phoneverify.domain.factors import codes_outlive_removal
from phoneverify.domain.models import FlowKind, NoticeEvent, RequestOrigin, User
from phoneverify.domain.passkeys import (
    CHALLENGE_BYTES,
    MAX_PASSKEYS,
    CeremonyPurpose,
    Passkey,
    PasskeyChallenge,
    PasskeyNotFound,
    PasskeyRejected,
    TooManyPasskeys,
    challenge_key,
)
from phoneverify.domain.recovery_codes import digests_of, new_codes
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.email_notices import EmailNotices
from phoneverify.flows.engine.passkey_assertion import passkey_label
from phoneverify.flows.engine.removal_notice import RemovalNotice
from phoneverify.flows.engine.step_up import Caller, StepUp
from phoneverify.ports.accounts import UserLookup
from phoneverify.ports.factors import AccountFactors
from phoneverify.ports.messaging import AccountNotices
from phoneverify.ports.passkeys import (
    InvalidCeremony,
    PasskeyChallenges,
    PasskeyStore,
    WebAuthnCeremony,
)

ADD = "passkey_add"  # the step-up's audited action
REMOVE = "passkey_remove"


@dataclass(frozen=True)
class PasskeyView:
    """What a client is shown of a passkey: never its key."""

    passkey_id: str
    created_at: float
    last_used_at: float | None
    transports: tuple[str, ...]
    # The account's first stronger factor: its ten recovery codes, shown this once.
    recovery_codes: tuple[str, ...] = ()

    @classmethod
    def of(cls, passkey: Passkey) -> PasskeyView:
        return cls(passkey.passkey_id, passkey.created_at, passkey.last_used_at, passkey.transports)


class PasskeyRegistry:
    def __init__(
        self,
        *,
        users: UserLookup,
        passkeys: PasskeyStore,
        challenges: PasskeyChallenges,
        ceremony: WebAuthnCeremony,
        step_up: StepUp,
        audit: FlowAudit,
        notices: AccountNotices,
        clock: Clock,
        timeout_secs: int,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
        factors: AccountFactors | None = None,
        pepper: Callable[[], bytes] | None = None,
        email_notices: EmailNotices | None = None,
    ) -> None:
        """`factors`, `pepper`: where the recovery codes of an account's first stronger
        factor are kept (their keyed digests); None: none are given (tests of other rules)."""
        self._factors = factors
        self._removal_notice = RemovalNotice(
            notices=notices, email_notices=email_notices, audit=audit
        )
        self._pepper = pepper
        self._users = users
        self._passkeys = passkeys
        self._challenges = challenges
        self._ceremony = ceremony
        self._step_up = step_up
        self._audit = audit
        self._clock = clock
        self._timeout = timeout_secs
        self._random = random_bytes

    def creation_options(self, caller: Caller, origin: RequestOrigin) -> dict[str, Any]:
        user = self._account(caller)
        self._step_up.require(caller, user, origin, action=ADD)
        held = self._passkeys.of_account(user.user_id)
        if len(held) >= MAX_PASSKEYS:
            raise TooManyPasskeys()
        challenge = self._random(CHALLENGE_BYTES)
        self._challenges.put(
            PasskeyChallenge(
                key=challenge_key(challenge),
                purpose=CeremonyPurpose.REGISTER,
                user_id=user.user_id,
                subject=user.user_id,
                expires_at=self._clock.now() + self._timeout,
            )
        )
        return self._ceremony.creation_options(
            user_id=user.user_id,
            user_name=user.email,
            display_name=user.name or user.email,
            challenge=challenge,
            exclude=held,
        )

    def register(
        self, caller: Caller, credential: Mapping[str, Any], origin: RequestOrigin
    ) -> PasskeyView:
        user = self._account(caller)
        self._step_up.require(caller, user, origin, action=ADD)
        try:
            signed = self._ceremony.client_challenge(credential)
        except InvalidCeremony as exc:
            raise self._refuse(user, origin, "malformed", str(exc)) from None
        spent = self._challenges.spend(
            challenge_key(signed),
            user_id=user.user_id,
            purpose=CeremonyPurpose.REGISTER,
            subject=user.user_id,
            now=self._clock.now(),
        )
        if spent is None:
            raise self._refuse(user, origin, "challenge_not_pending")
        try:
            new = self._ceremony.verify_registration(credential, challenge=signed)
        except InvalidCeremony as exc:
            raise self._refuse(user, origin, "attestation_invalid", str(exc)) from None
        passkey = Passkey(
            passkey_id=new.credential_id,
            user_id=user.user_id,
            public_key=new.public_key,
            sign_count=new.sign_count,
            transports=new.transports,
            created_at=self._clock.now(),
        )
        self._passkeys.add(passkey, limit=MAX_PASSKEYS)
        self._audit.record(
            VerificationEventType.PASSKEY_ADDED,
            user.user_id,
            origin,
            kind=FlowKind.PASSKEY,
            passkey=passkey_label(passkey.passkey_id),
        )
        return replace(PasskeyView.of(passkey), recovery_codes=self._first_recovery_codes(user))

    def _first_recovery_codes(self, user: User) -> tuple[str, ...]:
        """Ten recovery codes when the account had none (this passkey is its first stronger
        factor, or its codes were all spent): kept by one conditional write, so two passkeys
        added at once give one set."""
        factors, pepper = self._factors, self._pepper
        if factors is None or pepper is None or user.recovery_codes_left > 0:
            return ()
        codes = new_codes()
        if not factors.give_recovery_codes(user.user_id, digests_of(pepper(), codes)):
            return ()
        return tuple(codes)

    def list(self, caller: Caller) -> list[PasskeyView]:
        user = self._account(caller)
        return [PasskeyView.of(p) for p in self._passkeys.of_account(user.user_id)]

    def remove(self, caller: Caller, passkey_id: str, origin: RequestOrigin) -> None:
        user = self._account(caller)
        self._step_up.require(caller, user, origin, action=REMOVE)
        last = not codes_outlive_removal(
            passkeys_left=user.passkey_count - 1, app_left=user.totp_enrolled_at is not None
        )
        if not self._passkeys.remove(user.user_id, passkey_id, last_expected=last):
            raise PasskeyNotFound()
        self._audit.record(
            VerificationEventType.PASSKEY_REMOVED,
            user.user_id,
            origin,
            kind=FlowKind.PASSKEY,
            passkey=passkey_label(passkey_id),
        )
        self._tell_removed(user, origin)

    def _tell_removed(self, user: User, origin: RequestOrigin) -> None:
        """The removal's notice (flows/engine/removal_notice.py): the phone, else the proven
        email, else audited as told to nobody."""
        self._removal_notice.tell(
            user,
            origin,
            sms=NoticeEvent.PASSKEY_REMOVED,
            email=EmailNotice.PASSKEY_REMOVED,
            kind=FlowKind.PASSKEY,
        )

    def _account(self, caller: Caller) -> User:
        user = self._users.get(caller.user_id)
        if user is None:  # a valid token of an account that no longer exists
            raise NotAuthenticated()
        return user

    def _refuse(
        self, user: User, origin: RequestOrigin, reason: str, why: str | None = None
    ) -> PasskeyRejected:
        detail = {"why": why[:200]} if why else {}
        self._audit.record(
            VerificationEventType.PASSKEY_REJECTED,
            user.user_id,
            origin,
            kind=FlowKind.PASSKEY,
            purpose=CeremonyPurpose.REGISTER.value,
            reason=reason,
            **detail,
        )
        return PasskeyRejected()
