"""Login with a second factor: password, then a code sent to the account's phone (by SMS,
voice call or WhatsApp)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from phoneverify.domain.emails import normalise_email, unknown_subject
from phoneverify.domain.errors import (
    AccountLocked,
    ChallengeRequired,
    InvalidCredentials,
    LoginThrottled,
    SourceThrottled,
)
from phoneverify.domain.models import Channel, RequestOrigin, User, VerificationEventType
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.domain.throttling import account_key
from phoneverify.domain.tokens import AccessToken, AccessTokenIssuer
from phoneverify.flows.challenge_records import TOKEN_GENERATION
from phoneverify.flows.challenges import Challenges, OpenedChallenge, Resent
from phoneverify.flows.gate import ProofOfWorkGate
from phoneverify.ports.abuse import PasswordThrottle
from phoneverify.ports.accounts import UserRepository


@dataclass(frozen=True)
class SecondFactorRequired:
    challenge: OpenedChallenge


class PasswordGate:
    """A password check behind the password throttle, every decision audited (under the
    challenges' kind of flow): how /login checks a password, and how a signed-in flow asks
    for it again as fresh authentication."""

    def __init__(
        self, *, passwords: PasswordHasher, throttle: PasswordThrottle, challenges: Challenges
    ) -> None:
        self._passwords = passwords
        self._throttle = throttle
        self._challenges = challenges

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
            self._challenges.record(
                VerificationEventType.LOGIN_THROTTLED,
                exc.subject or unknown_subject(key),
                origin,
                retry_after=exc.retry_after,
            )
            raise
        user = find_user()
        password_ok = self._passwords.verify(password, user.password_hash if user else None)
        if user is None or not password_ok:
            subject = user.user_id if user else unknown_subject(key)
            wait = self._throttle.failed(attempt, subject)
            self._challenges.record(
                VerificationEventType.PASSWORD_REJECTED,
                subject,
                origin,
                failures=attempt.failures,
                next_wait_secs=wait,
            )
            raise refusal or InvalidCredentials()
        self._throttle.succeeded(attempt)
        self._challenges.record(VerificationEventType.PASSWORD_ACCEPTED, user.user_id, origin)
        return user


class LoginFlow:
    def __init__(
        self,
        *,
        users: UserRepository,
        passwords: PasswordHasher,
        challenges: Challenges,
        tokens: AccessTokenIssuer,
        throttle: PasswordThrottle,
        proof_of_work: ProofOfWorkGate | None = None,
    ) -> None:
        """`proof_of_work`: where it is on, a source over its cap of wrong passwords is asked
        for a solved challenge instead of refusing every password from it."""
        self._pow = proof_of_work
        self._users = users
        self._challenges = challenges
        self._tokens = tokens
        self._gate = PasswordGate(passwords=passwords, throttle=throttle, challenges=challenges)

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
        if not user.phone_number:
            return self._tokens.issue_access_token(user.user_id, user.token_generation)
        # The flow is bound to the token generation read now: if every token of the account is
        # ended before the code comes back, the code is refused (SessionsEnded), as a phone
        # change refuses it, rather than a token born ended being issued.
        data = {TOKEN_GENERATION: str(user.token_generation)}
        try:
            challenge = self._challenges.open(
                user.user_id,
                user.phone_number,
                origin,
                data=data,
                channel=channel,
                phone_generation=user.phone_generation,
            )
        except AccountLocked:
            self._challenges.record(VerificationEventType.LOGIN_LOCKED, user.user_id, origin)
            raise
        return SecondFactorRequired(challenge)

    def verify(self, flow_id: str, code: str, origin: RequestOrigin) -> AccessToken:
        record = self._challenges.check(flow_id, code, origin)
        generation = int(record.data.get(TOKEN_GENERATION) or 0)
        return self._tokens.issue_access_token(record.subject, generation)

    def resend(self, flow_id: str, origin: RequestOrigin, channel: Channel | None = None) -> Resent:
        return self._challenges.resend(flow_id, origin, channel)
