"""Login with a second factor: password, then a code sent to the account's phone (by SMS,
voice call or WhatsApp), the authenticator app's code, a passkey's assertion over the options
of /login/passkey/options (flows/passkey_step.py), or a recovery code."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.emails import normalise_email
from phoneverify.domain.errors import (
    AccountLocked,
    ChallengeRequired,
    InvalidRequest,
    SourceThrottled,
)
from phoneverify.domain.factors import FactorKind, login_factors
from phoneverify.domain.models import Channel, FlowKind, NoticeEvent, RequestOrigin
from phoneverify.domain.passkeys import CeremonyPurpose
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.domain.throttling import account_key
from phoneverify.domain.tokens import AccessToken, AccessTokenIssuer
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenge_records import TOKEN_GENERATION
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.password_gate import PasswordGate
from phoneverify.flows.engine.policy import OpenedChallenge, Resent
from phoneverify.flows.engine.proof_of_work_gate import ProofOfWorkGate
from phoneverify.flows.engine.step_up import StepUp
from phoneverify.flows.factor_checks import FactorChecks, Verifier, step_verifier
from phoneverify.flows.passkey_step import ASSERTION, PasskeyStep
from phoneverify.ports.abuse import PasswordThrottle
from phoneverify.ports.accounts import UserRepository
from phoneverify.ports.messaging import AccountNotices


@dataclass(frozen=True)
class SignedIn(AccessToken):
    """The access token of a completed login. `reauth`: a reauth token for its session when
    the second step was a recovery code (docs/sessions.md#fresh-authentication): the password
    and a one-time code just proven are a fresh authentication, and the person who lost their
    only stronger factor can remove it at once (they cannot step up with it any more)."""

    reauth: AccessToken | None = None


@dataclass(frozen=True)
class SecondFactorRequired:
    """`factors`: what may answer the second step, strongest first (domain/factors.py)."""

    challenge: OpenedChallenge
    factors: tuple[FactorKind, ...] = (FactorKind.SMS,)


class LoginFlow:
    def __init__(
        self,
        *,
        users: UserRepository,
        passwords: PasswordHasher,
        challenges: Challenges,
        audit: FlowAudit,
        tokens: AccessTokenIssuer,
        throttle: PasswordThrottle,
        proof_of_work: ProofOfWorkGate | None = None,
        factor_checks: FactorChecks | None = None,
        notices: AccountNotices | None = None,
        passkey_step: PasskeyStep | None = None,
        step_up: StepUp | None = None,
    ) -> None:
        """`audit`: where its password decisions and lock refusals are recorded.
        `proof_of_work`: where it is on, a source over its cap of wrong passwords is asked
        for a solved challenge instead of refusing every password from it. `step_up`: where
        a login by a recovery code is granted a reauth token (None: never)."""
        self._pow = proof_of_work
        self._step_up = step_up
        self._checks = factor_checks
        self._passkeys = passkey_step
        self._notices = notices
        self._users = users
        self._challenges = challenges
        self._audit = audit
        self._tokens = tokens
        self._gate = PasswordGate(
            passwords=passwords, throttle=throttle, audit=audit, kind=FlowKind.LOGIN
        )

    def start(
        self,
        email: str,
        password: str,
        origin: RequestOrigin,
        channel: Channel | None = None,
        proof: str | None = None,
    ) -> AccessToken | SecondFactorRequired:
        """Check the password; with a phone on the account, send a code (by `channel`)
        instead of a token.

        The throttle counts the attempt first, keyed by the email whether it has an account or
        not; an unknown email costs one bcrypt check too and gets the same answer as a wrong
        password. Every decision is an audited event.
        """
        address = normalise_email(email)
        gate = self._pow
        # A solution is looked at only when one came: /login asks for one only from a source
        # over its cap (docs/abuse-controls.md#password-throttling), whatever the gate's mode.
        vouched = gate.vouch(proof, origin) if gate is not None and proof is not None else False
        try:
            user = self._gate.check(
                account_key(address),
                lambda: self._users.find_by_email(address),
                password,
                origin,
                vouched=vouched,
            )
        except SourceThrottled:
            if gate is None or not gate.on or vouched:
                raise
            # Everyone behind one address (an office, a carrier's NAT) is not locked out by
            # someone else's guesses: a solved challenge lets their password be checked.
            with gate.asking(origin):
                raise ChallengeRequired() from None
        factors = login_factors(user)
        if not factors:
            return self._tokens.issue_access_token(user.user_id, user.token_generation)
        # The flow is bound to the token generation read now: if every token of the account is
        # ended before the code comes back, the code is refused (SessionsEnded), as a phone
        # change refuses it, rather than a token born ended being issued.
        data = {TOKEN_GENERATION: str(user.token_generation)}
        try:
            challenge = self._challenges.open_second_step(user, origin, data, channel)
        except AccountLocked:
            self._audit.record(
                VerificationEventType.LOGIN_LOCKED, user.user_id, origin, kind=FlowKind.LOGIN
            )
            raise
        return SecondFactorRequired(challenge, factors)

    def verify(
        self,
        flow_id: str,
        code: str | None,
        origin: RequestOrigin,
        *,
        factor: FactorKind = FactorKind.SMS,
        recovery_code: str | None = None,
        credential: Mapping[str, Any] | None = None,
    ) -> SignedIn:
        """A token once the second step is right: the SMS code, the app's code
        (`factor` totp, once per time step), a passkey's assertion (`factor` passkey,
        `credential`) or a recovery code (each once; the account's phone is told; with a
        reauth token for the new session), all under the flow's one attempt cap and the
        account's count."""
        if factor is FactorKind.PASSKEY:
            if recovery_code is not None or code is not None:
                raise InvalidRequest("a passkey answers with credential alone", field="code")
            code = ASSERTION
        if (code is None) == (recovery_code is None):
            raise InvalidRequest("give either code or recovery_code", field="code")
        verifier = self._verifier(factor, credential, recovery_code, origin)
        answer = recovery_code if recovery_code is not None else code
        assert answer is not None
        record = self._challenges.check(flow_id, answer, origin, verifier=verifier)
        if recovery_code is not None and self._notices is not None and record.phone_number:
            self._notices.notify(record.phone_number, NoticeEvent.RECOVERY_CODE_USED)
        generation = int(record.data.get(TOKEN_GENERATION) or 0)
        token = self._tokens.issue_access_token(record.subject, generation)
        reauth = None
        if recovery_code is not None and self._step_up is not None:
            reauth = self._step_up.grant(record.subject, generation, token.jti, origin)
        return SignedIn(token.token, token.expires_in, token.jti, reauth)

    def passkey_options(self, flow_id: str, origin: RequestOrigin) -> dict[str, Any]:
        """WebAuthn request options for the login's account (its credentials allowed), their
        challenge bound to this pending login (/login/passkey/options)."""
        if self._passkeys is None:
            raise InvalidRequest("this factor is not available", field="factor")
        record = self._challenges.pending(flow_id, origin)
        return self._passkeys.options(record, CeremonyPurpose.LOGIN)

    def _verifier(
        self,
        factor: FactorKind,
        credential: Mapping[str, Any] | None,
        recovery_code: str | None,
        origin: RequestOrigin,
    ) -> Verifier | None:
        if recovery_code is None:
            return step_verifier(
                factor,
                checks=self._checks,
                passkeys=self._passkeys,
                credential=credential,
                origin=origin,
                kind=FlowKind.LOGIN,
                purpose=CeremonyPurpose.LOGIN,
            )
        if self._checks is None:  # a function built without the stronger factors
            raise InvalidRequest("this factor is not available", field="factor")
        return self._checks.recovery(origin, FlowKind.LOGIN)

    def resend(self, flow_id: str, origin: RequestOrigin, channel: Channel | None = None) -> Resent:
        return self._challenges.resend(flow_id, origin, channel)
