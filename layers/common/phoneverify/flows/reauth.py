"""Fresh authentication before an account change (docs/sessions.md#fresh-authentication):
the password again (the same throttled, audited gate as /login), then the account's second
factor, as at login (domain/factors.py `login_factors`: a passkey, an authenticator app, a code
to its phone), then a reauth token (flows/engine/step_up.py). An account holding a factor
stronger than SMS is sent no SMS until it asks (/account/reauth/resend): its flow is opened
unsent, and answered by the passkey (`passkey_options`, then `verify` with a credential), the
app's code or, when asked for, the SMS code, all under the flow's one attempt cap and the
account's wrong-code count.

The code is counted in the verified tier, like a login's (someone who has just passed a
password check asks), and is bound to the account's phone generation and token generation: a
phone change or a logout of every session before it comes back ends the flow. The flow belongs
to the account that started it (another account's token finds no such flow), and its reauth
token to the session that started it. An account without a phone has only its password to
prove: only an account with no second factor at all gets the reauth token from `start`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phoneverify.domain.errors import InvalidCredentials, InvalidRequest, NotAuthenticated
from phoneverify.domain.factors import FactorKind, login_factors
from phoneverify.domain.models import Channel, FlowKind, RequestOrigin, User
from phoneverify.domain.passkeys import CeremonyPurpose
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.domain.throttling import account_key
from phoneverify.domain.tokens import AccessToken
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenge_records import TOKEN_GENERATION
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.password_gate import PasswordGate
from phoneverify.flows.engine.policy import OpenedChallenge, Resent
from phoneverify.flows.engine.step_up import Caller, StepUp
from phoneverify.flows.factor_checks import FactorChecks, step_verifier
from phoneverify.flows.passkey_step import ASSERTION, PasskeyStep
from phoneverify.ports.abuse import PasswordThrottle
from phoneverify.ports.accounts import UserLookup

RESTART_HINT = "Start the confirmation again."
TOO_MANY_ATTEMPTS = "Too many attempts. Please start the confirmation again."
WRONG_PASSWORD = "Wrong password"  # noqa: S105 - a message
SESSION = "session"  # data key: the access token's jti the reauth token will be bound to
SMS_FACTOR = "sms"


@dataclass(frozen=True)
class ReauthChallenge:
    """The second step is pending (a code went to the phone only when SMS is the strongest
    factor); `factors`: what may answer it, strongest first."""

    challenge: OpenedChallenge
    factors: tuple[str, ...] = (SMS_FACTOR,)


@dataclass(frozen=True)
class ReauthGranted:
    """The reauth token; `factors`: the ones proven beyond the password (none: it has none)."""

    token: AccessToken
    factors: tuple[str, ...] = ()


class ReauthFlow:
    def __init__(
        self,
        *,
        users: UserLookup,
        passwords: PasswordHasher,
        challenges: Challenges,
        audit: FlowAudit,
        throttle: PasswordThrottle,
        step_up: StepUp,
        factor_checks: FactorChecks | None = None,
        passkey_step: PasskeyStep | None = None,
    ) -> None:
        """`factor_checks`, `passkey_step`: where the function checks an app's code and a
        passkey (/account/reauth/verify); None elsewhere (that factor is refused there)."""
        self._users = users
        self._checks = factor_checks
        self._passkeys = passkey_step
        self._challenges = challenges
        self._step_up = step_up
        self._gate = PasswordGate(
            passwords=passwords, throttle=throttle, audit=audit, kind=FlowKind.REAUTH
        )

    def start(
        self,
        caller: Caller,
        password: str,
        origin: RequestOrigin,
        channel: Channel | None = None,
    ) -> ReauthChallenge | ReauthGranted:
        """Check the password (throttled, audited); then send a code to the account's phone,
        or grant the reauth token at once to an account without one."""
        if not password:
            raise InvalidRequest("password is required", field="password")
        user = self._account(caller)
        session = caller.session
        if session is None:  # no session to bind a reauth token to (the edge always has one)
            raise NotAuthenticated()
        self._gate.check(
            account_key(user.email),
            lambda: user,
            password,
            origin,
            refusal=InvalidCredentials(WRONG_PASSWORD, field="password"),
        )
        factors = login_factors(user)
        if not factors:  # nothing beyond the password to prove
            grant = self._step_up.grant(user.user_id, user.token_generation, session, origin)
            return ReauthGranted(grant)
        data = {TOKEN_GENERATION: str(user.token_generation), SESSION: session}
        named = tuple(kind.value for kind in factors)
        challenge = self._challenges.open_second_step(user, origin, data, channel)
        return ReauthChallenge(challenge, named)

    def verify(
        self,
        caller: Caller,
        flow_id: str,
        code: str | None,
        origin: RequestOrigin,
        *,
        factor: FactorKind = FactorKind.SMS,
        credential: Mapping[str, Any] | None = None,
    ) -> ReauthGranted:
        """The reauth token, once the second step is right: the SMS code, the app's code
        (`factor` totp) or a passkey's assertion (`factor` passkey, `credential`). It is bound
        to the session that started the flow and to the token generation read then (refused
        once every session was ended: SessionsEnded)."""
        verifier = step_verifier(
            factor,
            checks=self._checks,
            passkeys=self._passkeys,
            credential=credential,
            origin=origin,
            kind=FlowKind.REAUTH,
            purpose=CeremonyPurpose.STEP_UP,
        )
        if factor is FactorKind.PASSKEY:
            code = ASSERTION
        elif code is None:
            raise InvalidRequest("code is required", field="code")
        record = self._challenges.check(
            flow_id, code, origin, owner=caller.user_id, verifier=verifier
        )
        generation = int(record.data.get(TOKEN_GENERATION) or 0)
        session = str(record.data.get(SESSION) or "")
        grant = self._step_up.grant(record.subject, generation, session, origin)
        return ReauthGranted(grant, (factor.value,))

    def passkey_options(
        self, caller: Caller, flow_id: str, origin: RequestOrigin
    ) -> dict[str, Any]:
        """WebAuthn request options for the caller's passkeys, their challenge bound to this
        pending step-up (/account/reauth/passkey/options)."""
        if self._passkeys is None:
            raise InvalidRequest("this factor is not available", field="factor")
        record = self._challenges.pending(flow_id, origin, owner=caller.user_id)
        return self._passkeys.options(record, CeremonyPurpose.STEP_UP)

    def resend(
        self, caller: Caller, flow_id: str, origin: RequestOrigin, channel: Channel | None = None
    ) -> Resent:
        return self._challenges.resend(flow_id, origin, channel, owner=caller.user_id)

    def _account(self, caller: Caller) -> User:
        user = self._users.get(caller.user_id)
        if user is None:  # a valid token of an account that no longer exists
            raise NotAuthenticated()
        return user
