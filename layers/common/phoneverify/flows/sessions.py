"""Sessions: who a bearer token speaks for, and logging out (docs/sessions.md).

A token is accepted when its signature and claims hold (tokens.py) and it was not ended since:
one read of the account's token generation and of the token's logout record. Refusals of a
token whose signature held are audited under its subject; forged tokens name nobody and are
audited under FORGED_SUBJECT.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import TokenRefused
from phoneverify.domain.models import FlowKind, NoticeEvent, RequestOrigin
from phoneverify.domain.tokens import AccessTokenIssuer, InvalidToken, TokenClaims
from phoneverify.ports.accounts import TokenRevocations
from phoneverify.ports.messaging import AccountNotices
from phoneverify.ports.verifications import VerificationEvents

# Whom a refused token is audited under when it names nobody (its signature did not hold, or
# it had no subject): the claims of a forged token are the forger's words, not a person's.
FORGED_SUBJECT = "token#unverified"


@dataclass(frozen=True)
class LoggedOut:
    everywhere: bool


class Sessions:
    def __init__(
        self,
        *,
        tokens: AccessTokenIssuer,
        revocations: TokenRevocations,
        events: VerificationEvents,
        clock: Clock,
        notices: AccountNotices | None = None,
    ) -> None:
        """`notices`: a logout of every session tells the account's phone (/logout only)."""
        self._tokens = tokens
        self._revocations = revocations
        self._events = events
        self._clock = clock
        self._notices = notices

    def authenticate(self, token: str, origin: RequestOrigin) -> TokenClaims:
        """The claims of a valid token that was not ended.

        Raises TokenRefused (its reason is logged and audited, never answered) or
        StorageUnavailable when the check cannot be made: never a guess.
        """
        try:
            claims = self._tokens.verify(token)
        except InvalidToken as exc:
            raise self._refused(exc.reason, exc.subject, origin) from None
        reason = self._revocations.refusal(claims)
        if reason is not None:
            raise self._refused(reason, claims.subject, origin)
        return claims

    def logout(self, claims: TokenClaims, everywhere: bool, origin: RequestOrigin) -> LoggedOut:
        """End this token, or (`everywhere`) every token of its account issued so far."""
        phone = None
        if everywhere:
            phone = self._revocations.end_all_tokens(claims.subject)
        else:
            self._revocations.end_token(claims.jti, claims.expires_at)
        self._record(VerificationEventType.LOGGED_OUT, claims.subject, origin, all=everywhere)
        if phone and self._notices is not None:
            self._notices.notify(phone, NoticeEvent.LOGGED_OUT_EVERYWHERE)
        return LoggedOut(everywhere)

    def _refused(self, reason: str, subject: str | None, origin: RequestOrigin) -> TokenRefused:
        # A token whose signature did not hold names nobody: audited under FORGED_SUBJECT,
        # where an operator finds every forgery with its address (docs/audit-log.md).
        self._record(
            VerificationEventType.TOKEN_REFUSED, subject or FORGED_SUBJECT, origin, reason=reason
        )
        return TokenRefused(reason, subject)

    def _record(
        self,
        event_type: VerificationEventType,
        subject: str,
        origin: RequestOrigin,
        **detail: Any,
    ) -> None:
        self._events.record(
            VerificationEvent(
                type=event_type,
                kind=FlowKind.SESSION,
                subject=subject,
                masked_phone="",
                at=self._clock.now(),
                origin=origin,
                detail=detail,
            )
        )
