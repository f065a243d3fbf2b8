"""Add or change the account's phone (docs/phone-lifecycle.md).

`start` needs the bearer token and fresh authentication: for an account with a phone, the
`Reauth-Token` of the step-up (flows/reauth.py: the password and the current phone; the
password alone is refused, so a stolen token and password cannot move the phone); for an
account without one, that token or the current password (through the same throttle as
/login): it has no phone to ask. Then it sends a code to the new number like every flow (phone
policy, send limits, attempt caps, cancel and status). The flow belongs to the account that started
it: another account's token finds no such flow. `verify` proves the new number and only then
swaps it in one transaction that keeps one account per phone; a number another account holds
answers phone_taken there, after it was proven, as sign-up does. The swap raises the account's
phone generation, which ends every flow whose code went to the old number (their codes are
accepted only under the generation they were sent in), and its token generation, which ends
every session (a stolen token with them); the caller gets a fresh access token. The owner is
told at the old number, or at the new one when the account had none.
"""

from __future__ import annotations

from dataclasses import dataclass

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    InvalidCredentials,
    InvalidRequest,
    NotAuthenticated,
    PhoneAlreadyRegistered,
    PhoneSuperseded,
)
from phoneverify.domain.models import Channel, FlowKind, NoticeEvent, RequestOrigin
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.domain.phones import DEFAULT_PHONE_POLICY, PhonePolicy, mask_phone, normalise_phone
from phoneverify.domain.throttling import account_key
from phoneverify.domain.tokens import AccessToken, AccessTokenIssuer
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenge_records import PHONE_GENERATION, TOKEN_GENERATION
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.password_gate import PasswordGate
from phoneverify.flows.engine.policy import OpenedChallenge, Resent
from phoneverify.flows.engine.step_up import Caller, StepUp
from phoneverify.ports.abuse import PasswordThrottle
from phoneverify.ports.accounts import AccountPhones
from phoneverify.ports.messaging import AccountNotices

RESTART_HINT = "Start the phone change again."
TOO_MANY_ATTEMPTS = "Too many attempts. Please start the phone change again."
PHONE_HAS_ACCOUNT = "This phone number belongs to another account."
SAME_PHONE = "This is already your phone number."
WRONG_PASSWORD = "Wrong password"  # noqa: S105 - a message
OLD_PHONE = "old_phone"  # data key: the number the account had when the flow began ("" none)


@dataclass(frozen=True)
class PhoneChanged:
    """The account's phone is now the proven one; `added`: it had none before. `token`: the
    caller's fresh access token (every earlier one of the account ended with the change)."""

    phone_hint: str
    added: bool
    token: AccessToken


class PhoneChangeFlow:
    def __init__(
        self,
        *,
        users: AccountPhones,
        passwords: PasswordHasher,
        challenges: Challenges,
        audit: FlowAudit,
        throttle: PasswordThrottle,
        notices: AccountNotices,
        clock: Clock,
        step_up: StepUp,
        tokens: AccessTokenIssuer,
        default_phone_region: str = "US",
        phone_policy: PhonePolicy = DEFAULT_PHONE_POLICY,
    ) -> None:
        """`audit`: where its password decisions and the swap's outcome are recorded.
        `phone_policy` is the one the challenges send under (the runtime passes the same)."""
        self._users = users
        self._challenges = challenges
        self._audit = audit
        self._gate = PasswordGate(
            passwords=passwords, throttle=throttle, audit=audit, kind=FlowKind.PHONE_CHANGE
        )
        self._notices = notices
        self._clock = clock
        self._step_up = step_up
        self._tokens = tokens
        self._default_region = default_phone_region
        self._phone_policy = phone_policy

    def start(
        self,
        caller: Caller,
        phone_number: str,
        password: str | None,
        origin: RequestOrigin,
        channel: Channel | None = None,
    ) -> OpenedChallenge:
        """Check the number, then fresh authentication (the caller's reauth token; for an
        account without a phone, the password instead when no token came), then send a code
        to the number by `channel` (SMS when None). Whether another account holds it is not
        looked up: that answers in `verify`, to whoever proved the number."""
        new_phone = normalise_phone(phone_number.strip(), self._default_region, self._phone_policy)
        user = self._users.get(caller.user_id)
        if user is None:  # a valid token of an account that no longer exists
            raise NotAuthenticated()
        if user.phone_number or caller.reauth_token:
            # The current phone must be asked: only the step-up proves it (the password is
            # what a thief with the token may have too).
            self._step_up.require(caller, user, origin, action=FlowKind.PHONE_CHANGE.value)
        else:
            if not password:
                raise InvalidRequest("password is required", field="password")
            self._gate.check(
                account_key(user.email),
                lambda: user,
                password,
                origin,
                refusal=InvalidCredentials(WRONG_PASSWORD, field="password"),
            )
        if new_phone == user.phone_number:
            raise InvalidRequest(SAME_PHONE, field="phone_number")
        return self._challenges.open(
            user.user_id,
            new_phone,
            origin,
            data={OLD_PHONE: user.phone_number or "", TOKEN_GENERATION: str(user.token_generation)},
            channel=channel,
            phone_generation=user.phone_generation,
        )

    def verify(self, user_id: str, flow_id: str, code: str, origin: RequestOrigin) -> PhoneChanged:
        """Prove the new number with the code, then swap it in and end every session of the
        account (one transaction), then tell the owner and answer a fresh token. A failed
        notice never undoes or blocks the change (AccountNotices)."""
        record = self._challenges.check(flow_id, code, origin, owner=user_id)
        old_phone = record.data.get(OLD_PHONE) or None
        new_phone = record.phone_number
        tokens = record.data.get(TOKEN_GENERATION)
        generation = None if tokens is None else int(tokens)
        try:
            self._users.change_phone(
                user_id,
                old_phone,
                new_phone,
                int(record.data[PHONE_GENERATION]),
                self._clock.now(),
                token_generation=generation,
            )
        except PhoneAlreadyRegistered:
            self._audit.emit(
                VerificationEventType.PHONE_CHANGE_REFUSED, record, origin, reason="phone_taken"
            )
            raise PhoneAlreadyRegistered(PHONE_HAS_ACCOUNT) from None
        except PhoneSuperseded:
            self._audit.emit(
                VerificationEventType.PHONE_CHANGE_REFUSED, record, origin, reason="superseded"
            )
            raise PhoneSuperseded(f"{PhoneSuperseded.message} {RESTART_HINT}") from None
        if old_phone is None:
            self._audit.emit(VerificationEventType.PHONE_ADDED, record, origin)
            self._notices.notify(new_phone, NoticeEvent.PHONE_ADDED)
        else:
            self._audit.emit(
                VerificationEventType.PHONE_CHANGED,
                record,
                origin,
                old_phone=mask_phone(old_phone),
            )
            self._notices.notify(old_phone, NoticeEvent.PHONE_CHANGED)
        return PhoneChanged(
            mask_phone(new_phone),
            added=old_phone is None,
            token=self._fresh_token(user_id, generation),
        )

    def _fresh_token(self, user_id: str, generation: int | None) -> AccessToken:
        """An access token under the generation the swap raised to. A flow started before
        flows carried it (TOKEN_GENERATION) reads the account for it."""
        if generation is None:
            user = self._users.get(user_id)
            if user is None:
                raise NotAuthenticated()
            return self._tokens.issue_access_token(user_id, user.token_generation)
        return self._tokens.issue_access_token(user_id, generation + 1)

    def resend(
        self, user_id: str, flow_id: str, origin: RequestOrigin, channel: Channel | None = None
    ) -> Resent:
        return self._challenges.resend(flow_id, origin, channel, owner=user_id)
