"""Fresh authentication (docs/sessions.md#fresh-authentication): the one step-up every
sensitive account change asks for. /account/reauth proves the password and the account's
strongest usable factor, then `StepUp.grant` issues a reauth token; a sensitive route hands
the `Reauth-Token` it got to `StepUp.require` with the account it read.

A reauth token is good for one account, in one session (the access token's `jti` it was asked
for in), for a few minutes, until every token of the account is ended (its `gen`), and may be
used more than once within that time (the threat model is in docs/sessions.md). Every grant,
use and refusal is audited under the account."""

from __future__ import annotations

from dataclasses import dataclass

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.errors import ReauthRequired
from phoneverify.domain.models import FlowKind, RequestOrigin, User
from phoneverify.domain.tokens import (
    ALL_TOKENS_ENDED,
    MISSING,
    OTHER_ACCOUNT,
    OTHER_SESSION,
    AccessToken,
    InvalidToken,
    ReauthTokenIssuer,
)
from phoneverify.flows.engine.audit import FlowAudit


@dataclass(frozen=True)
class Caller:
    """Who asks, as the HTTP edge knows it (http/auth.py signed_in_caller): the account of the
    bearer token, that token's `jti` (its session; None where the edge has none) and the
    `Reauth-Token` header, if any."""

    user_id: str
    session: str | None = None
    reauth_token: str | None = None


class StepUp:
    def __init__(self, *, tokens: ReauthTokenIssuer, audit: FlowAudit) -> None:
        self._tokens = tokens
        self._audit = audit

    def grant(
        self, user_id: str, generation: int, session: str, origin: RequestOrigin
    ) -> AccessToken:
        """A reauth token for the account in `session`, under its token `generation`."""
        token = self._tokens.issue(user_id, session, generation)
        self._audit.record(
            VerificationEventType.REAUTH_GRANTED, user_id, origin, kind=FlowKind.REAUTH
        )
        return token

    def require(self, caller: Caller, user: User, origin: RequestOrigin, *, action: str) -> None:
        """Return when the caller's reauth token is valid for `user` (read by the route) in the
        caller's session; else ReauthRequired, audited with why. `action`: what it is used for
        (the audit's `action`)."""
        reason = self._refusal(caller, user)
        if reason is not None:
            self._audit.record(
                VerificationEventType.REAUTH_REFUSED,
                user.user_id,
                origin,
                kind=FlowKind.REAUTH,
                reason=reason,
                action=action,
            )
            raise ReauthRequired()
        self._audit.record(
            VerificationEventType.REAUTH_USED,
            user.user_id,
            origin,
            kind=FlowKind.REAUTH,
            action=action,
        )

    def _refusal(self, caller: Caller, user: User) -> str | None:
        if not caller.reauth_token:
            return MISSING
        try:
            claims = self._tokens.verify(caller.reauth_token)
        except InvalidToken as exc:
            return exc.reason
        if claims.subject != user.user_id or caller.user_id != user.user_id:
            return OTHER_ACCOUNT
        if caller.session is None or claims.session != caller.session:
            return OTHER_SESSION
        if claims.generation != user.token_generation:
            return ALL_TOKENS_ENDED
        return None
