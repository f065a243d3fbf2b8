"""Fresh authentication before an account change (docs/sessions.md#fresh-authentication):
the password again (the same throttled, audited gate as /login), then a code to the account's
strongest usable factor, its phone today, then a reauth token (flows/engine/step_up.py).

The code is counted in the verified tier, like a login's (someone who has just passed a
password check asks), and is bound to the account's phone generation and token generation: a
phone change or a logout of every session before it comes back ends the flow. The flow belongs
to the account that started it (another account's token finds no such flow), and its reauth
token to the session that started it. An account without a phone has only its password to
prove: it gets the reauth token from `start`.
"""

from __future__ import annotations

from dataclasses import dataclass

from phoneverify.domain.errors import InvalidCredentials, InvalidRequest, NotAuthenticated
from phoneverify.domain.models import Channel, FlowKind, RequestOrigin, User
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.domain.throttling import account_key
from phoneverify.domain.tokens import AccessToken
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenge_records import TOKEN_GENERATION
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.password_gate import PasswordGate
from phoneverify.flows.engine.policy import OpenedChallenge, Resent
from phoneverify.flows.engine.step_up import Caller, StepUp
from phoneverify.ports.abuse import PasswordThrottle
from phoneverify.ports.accounts import UserLookup

RESTART_HINT = "Start the confirmation again."
TOO_MANY_ATTEMPTS = "Too many attempts. Please start the confirmation again."
WRONG_PASSWORD = "Wrong password"  # noqa: S105 - a message
SESSION = "session"  # data key: the access token's jti the reauth token will be bound to
SMS_FACTOR = "sms"


@dataclass(frozen=True)
class ReauthChallenge:
    """A code went to the account's phone; `factors`: what may answer it."""

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
    ) -> None:
        self._users = users
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
        if not user.phone_number:
            grant = self._step_up.grant(user.user_id, user.token_generation, session, origin)
            return ReauthGranted(grant)
        challenge = self._challenges.open(
            user.user_id,
            user.phone_number,
            origin,
            data={TOKEN_GENERATION: str(user.token_generation), SESSION: session},
            channel=channel,
            phone_generation=user.phone_generation,
        )
        return ReauthChallenge(challenge)

    def verify(
        self, caller: Caller, flow_id: str, code: str, origin: RequestOrigin
    ) -> ReauthGranted:
        """The reauth token, once the code sent by `start` is right. It is bound to the
        session that started the flow and to the token generation the code was sent under
        (the code is refused once every session was ended: SessionsEnded)."""
        record = self._challenges.check(flow_id, code, origin, owner=caller.user_id)
        generation = int(record.data.get(TOKEN_GENERATION) or 0)
        session = str(record.data.get(SESSION) or "")
        grant = self._step_up.grant(record.subject, generation, session, origin)
        return ReauthGranted(grant, (SMS_FACTOR,))

    def resend(
        self, caller: Caller, flow_id: str, origin: RequestOrigin, channel: Channel | None = None
    ) -> Resent:
        return self._challenges.resend(flow_id, origin, channel, owner=caller.user_id)

    def _account(self, caller: Caller) -> User:
        user = self._users.get(caller.user_id)
        if user is None:  # a valid token of an account that no longer exists
            raise NotAuthenticated()
        return user
