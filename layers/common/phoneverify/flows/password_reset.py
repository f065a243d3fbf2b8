"""Self-service recovery: a new password, once a code sent to the account's phone is proven.

`start` answers the same, after the same send limits and with the same work, whether the
email has an account with a phone or not: for an unknown email (or an account without a
phone) the flow is a decoy that sends nothing and accepts no code. `verify` sets the new
password (sign-up's rules), ends every token of the account, clears the wrong-code lock and
the password throttle, and sends a notice to the account's phone (never a code or a link). A
reset flow is not held by the account's lock: it is the way out of one; its wrong codes
count towards it all the same. What makes the decoy one nobody tells apart is in
docs/abuse-controls.md#the-decoy-password-reset.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass
from typing import Any

from phoneverify.domain.clock import Clock
from phoneverify.domain.emails import parse_email, unknown_subject
from phoneverify.domain.errors import (
    AccountPhoneNotAllowed,
    ChannelNotAllowed,
    InvalidRequest,
    PasswordSuperseded,
)
from phoneverify.domain.factor_errors import FactorRequired
from phoneverify.domain.factors import STRONGER_THAN_SMS, FactorKind, enrolled_factors
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.models import (
    Channel,
    FlowKind,
    NoticeEvent,
    PendingVerification,
    RequestOrigin,
    User,
    VerificationEventType,
)
from phoneverify.domain.passkeys import CeremonyPurpose
from phoneverify.domain.passwords import PasswordHasher, check_password
from phoneverify.domain.throttling import account_key
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.policy import OpenedChallenge, Resent
from phoneverify.flows.engine.proof_of_work_gate import ProofOfWorkGate
from phoneverify.flows.factor_checks import FactorChecks
from phoneverify.flows.passkey_step import ASSERTION, PasskeyStep
from phoneverify.ports.abuse import PasswordThrottle
from phoneverify.ports.accounts import AccountRecovery
from phoneverify.ports.messaging import AccountNotices

logger = logging.getLogger(__name__)

RESTART_HINT = "Start the password reset again."
TOO_MANY_ATTEMPTS = "Too many attempts. Please start the password reset again."
NEW_PASSWORD = "new_password"  # noqa: S105 - the field name
# Data key of a reset flow: the account's password generation when the flow started.
PASSWORD_GENERATION = "pw_gen"  # noqa: S105 - a data key


@dataclass(frozen=True)
class PasswordResetDone:
    """The new password holds; every earlier token of the account is ended."""


def stand_in_phone(pepper: bytes, email: str, calling_code: int) -> str:
    """A number a decoy pretends to send to: a keyed digest of the email (so a repeated
    request shows the same hint, and nobody without the pepper can tell which digits an
    email gets). Never dialled; its last four digits are the hint."""
    digits = str(int(keyed_digest(pepper, f"decoy-phone:{email}"), 16))[-10:]
    return f"+{calling_code}{digits}"


STRONGER = "stronger_factors"  # data key: the account's factors an SMS never replaces


def stronger_factors(user: User) -> tuple[str, ...]:
    return tuple(k.value for k in enrolled_factors(user) if k in STRONGER_THAN_SMS)


class StrongerFactor:
    """A reset's second factor where the account had one stronger than SMS when the reset
    started (an SMS alone, a swapped SIM, never replaces it: docs/factors.md). Checked before
    the SMS code, a wrong one is a wrong code (an attempt, the account's count); none given is
    asked for only once the SMS code is known right (FactorRequired, the flow left proven). A
    decoy has none."""

    def __init__(
        self,
        checks: FactorChecks | None,
        origin: RequestOrigin,
        totp_code: str | None,
        recovery_code: str | None,
        credential: Mapping[str, Any] | None = None,
        passkeys: PasskeyStep | None = None,
    ) -> None:
        self._checks = checks
        self._origin = origin
        self._totp = totp_code
        self._recovery = recovery_code
        self._credential = credential
        self._passkeys = passkeys

    def _held(self, record: PendingVerification) -> tuple[str, ...]:
        """What the account held when the reset started (a decoy: nothing)."""
        if self._checks is None:
            return ()
        return tuple(k for k in str(record.data.get(STRONGER) or "").split(",") if k)

    def is_right(self, record: PendingVerification) -> bool:
        held = self._held(record)
        checks = self._checks
        if checks is None or not held:
            return True
        kind = FlowKind.PASSWORD_RESET
        if self._recovery is not None:
            return checks.recovery(self._origin, kind)(record, self._recovery)
        if self._totp is not None:
            return checks.totp(self._origin, kind)(record, self._totp)
        if self._credential is not None:
            if self._passkeys is None:  # a function built without passkeys: never right
                return False
            verifier = self._passkeys.verifier(
                self._credential, self._origin, CeremonyPurpose.RESET
            )
            return verifier(record, ASSERTION)
        return True  # nothing given: asked for by ensure_given once the SMS code is right

    def ensure_given(self, record: PendingVerification) -> None:
        held = self._held(record)
        given = (self._totp, self._recovery, self._credential)
        if held and all(each is None for each in given):
            raise FactorRequired([*held, FactorKind.RECOVERY.value])


class PasswordResetFlow:
    def __init__(
        self,
        *,
        users: AccountRecovery,
        passwords: PasswordHasher,
        challenges: Challenges,
        audit: FlowAudit,
        throttle: PasswordThrottle,
        clock: Clock,
        pepper: Callable[[], bytes],
        decoy_calling_code: int = 1,
        notices: AccountNotices | None = None,
        gate: ProofOfWorkGate | None = None,
        factor_checks: FactorChecks | None = None,
        passkey_step: PasskeyStep | None = None,
    ) -> None:
        """`audit`: where its decisions beyond the code's are recorded. `gate`: the
        proof-of-work gate `start` passes through first (None: off). `pepper`: the key of
        the decoys' stand-in numbers (SSM HASH_PEPPER_PARAM)."""
        self._gate = gate
        self._users = users
        self._passwords = passwords
        self._challenges = challenges
        self._audit = audit
        self._throttle = throttle
        self._clock = clock
        self._pepper = pepper
        self._decoy_calling_code = decoy_calling_code
        self._notices = notices
        self._checks = factor_checks
        self._passkeys = passkey_step

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
        # Two reads whether the email has an account or not (UserLookup.find_by_email).
        user = self._users.find_by_email(address)
        data = {"email": address, "name": (user.name if user else None) or ""}
        data[PASSWORD_GENERATION] = str(user.password_generation if user else 0)
        # The factors stronger than SMS the account holds now, kept with the flow: its verify
        # asks for one of them without reading the account again (docs/factors.md).
        data[STRONGER] = ",".join(stronger_factors(user) if user else ())
        stand_in = stand_in_phone(self._pepper(), address, self._decoy_calling_code)
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
                    # The caps a decoy of this email would meet, and no other: a cap of the
                    # account's own number would be one only a real account can be refused by.
                    counted_as=stand_in,
                )
            except (AccountPhoneNotAllowed, ChannelNotAllowed) as refused:
                # Refusing here would tell that the account exists (or where its phone is):
                # answered as a decoy (a channel refused by setting is refused to the decoy
                # below alike), and audited.
                logger.warning("password reset for a phone the policy or channel refuses")
                self._audit.record(
                    VerificationEventType.RESET_CONCEALED,
                    user.user_id,
                    origin,
                    kind=FlowKind.PASSWORD_RESET,
                    reason=refused.code,
                )
        return self._challenges.open(
            unknown_subject(key),
            stand_in,
            origin,
            data=data,
            decoy=True,
            channel=channel,
            gated=gated,
            vouched=vouched,
        )

    def verify(
        self,
        flow_id: str,
        code: str,
        new_password: str,
        origin: RequestOrigin,
        *,
        totp_code: str | None = None,
        recovery_code: str | None = None,
        credential: Mapping[str, Any] | None = None,
    ) -> PasswordResetDone:
        """The rules that do not depend on the account first (the same answer on every
        flow, costing no attempt); then the code; only once it is right, the rules about the
        holder (not their email or name): a refusal there tells nothing a stranger could
        use, and leaves the flow proven, so the owner retries with the same code and another
        password. Then the password is set, only while no other reset of the account came
        first (its password generation), which ends every other pending reset of it."""
        check_password(new_password, field=NEW_PASSWORD)
        stronger = StrongerFactor(
            self._checks, origin, totp_code, recovery_code, credential, self._passkeys
        )

        def holder_rules(pending: PendingVerification) -> None:
            stronger.ensure_given(pending)
            email = pending.data.get("email") or ""
            context = (email, email.partition("@")[0], pending.data.get("name") or "")
            check_password(new_password, context=context, field=NEW_PASSWORD)

        record = self._challenges.check(
            flow_id, code, origin, before_consume=holder_rules, also_right=stronger.is_right
        )
        user_id = record.subject
        email = record.data.get("email") or ""
        generation = int(record.data.get(PASSWORD_GENERATION) or 0)
        try:
            self._users.reset_password(
                user_id, self._passwords.hash(new_password), self._clock.now(), generation
            )
        except PasswordSuperseded:
            self._audit.record(
                VerificationEventType.PASSWORD_RESET_SUPERSEDED,
                user_id,
                origin,
                kind=FlowKind.PASSWORD_RESET,
            )
            raise PasswordSuperseded(f"{PasswordSuperseded.message} {RESTART_HINT}") from None
        self._challenges.unlock_account(user_id)
        self._throttle.clear(account_key(email))
        self._audit.record(
            VerificationEventType.PASSWORD_RESET, user_id, origin, kind=FlowKind.PASSWORD_RESET
        )
        if self._notices is not None:
            # The code went to the account's number: the notice goes there too.
            self._notices.notify(record.phone_number, NoticeEvent.PASSWORD_RESET)
        return PasswordResetDone()

    def passkey_options(self, flow_id: str, origin: RequestOrigin) -> dict[str, Any]:
        """WebAuthn request options for a pending reset (/password/reset/passkey/options),
        naming no credential and answered alike for a decoy: whether the account holds a
        passkey is learnt only once its phone's code is right (FactorRequired)."""
        if self._passkeys is None:  # a function built without passkeys
            raise InvalidRequest("this factor is not available", field="factor")
        record = self._challenges.pending(flow_id, origin)
        return self._passkeys.options(record, CeremonyPurpose.RESET, discoverable=True)

    def resend(self, flow_id: str, origin: RequestOrigin, channel: Channel | None = None) -> Resent:
        return self._challenges.resend(flow_id, origin, channel)
