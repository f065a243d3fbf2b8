"""Access tokens: HS256 JWTs signed with a secret held in SSM.

Every token carries integer `iat`, `nbf` and `exp` (JSON numbers without a fraction; `true`
is not a number here), its `jti`, and `gen`: the account's token generation when it was
issued. Ending every token of an account raises that generation (docs/sessions.md).

Reauth tokens (docs/sessions.md#fresh-authentication) are the same kind of JWT with their own
audience (`<audience>:reauth`), a `purpose` claim and `sid`, the access token's `jti` they were
asked for in: an access token never passes as a reauth token, nor the reverse.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from phoneverify.domain.clock import Clock

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
CLOCK_SKEW_SECS = 30
REQUIRED_CLAIMS = ("sub", "iat", "nbf", "exp", "iss", "aud", "jti", "gen")
MAX_JTI_LENGTH = 128  # ours are 32 hex digits; a DynamoDB key, so bounded

# Why a token was refused: logged by the authorizer and kept in the audit trail.
MALFORMED = "malformed"  # not a token of ours: bad signature, algorithm, issuer, audience
INVALID_CLAIMS = "invalid_claims"  # signed by us, but a claim is missing or of the wrong type
EXPIRED = "expired"
NOT_YET_VALID = "not_yet_valid"  # `iat` or `nbf` beyond the clock skew in the future
ACCOUNT_GONE = "account_gone"
ALL_TOKENS_ENDED = "all_tokens_ended"  # issued before a logout of every session
TOKEN_ENDED = "token_ended"  # noqa: S105 - a reason: this token was logged out
# Why a reauth token was refused at a sensitive route (beside the reasons above).
MISSING = "missing"
OTHER_ACCOUNT = "other_account"
OTHER_SESSION = "other_session"

REAUTH_PURPOSE = "reauth"
REAUTH_AUDIENCE_SUFFIX = ":reauth"


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or meant for someone else.

    `reason` is one of the refusal reasons above; `subject` is the token's `sub` when its
    signature held (so it names a real account), else None.
    """

    def __init__(self, reason: str, detail: str = "", subject: str | None = None) -> None:
        self.reason = reason
        self.subject = subject
        super().__init__(f"{reason}: {detail}" if detail else reason)


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int
    jti: str = ""  # its id: the session a reauth token may be bound to (docs/sessions.md)


@dataclass(frozen=True)
class TokenClaims:
    """The claims of a token whose signature and time claims held."""

    subject: str
    jti: str
    issued_at: int
    expires_at: int
    generation: int


def _is_int(value: object) -> bool:
    return type(value) is int  # bool is an int subclass; 1.0 and "1" are not ints


class AccessTokenIssuer:
    def __init__(
        self,
        signing_secret: Callable[[], str],
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Clock,
        purpose: str | None = None,
    ) -> None:
        """`purpose`: None for access tokens, which must carry no `purpose` claim; a reauth
        token's issuer (ReauthTokenIssuer) sets it, and requires it."""
        # PyJWT loads when an issuer is built (runtime/ builds one for the functions that
        # issue or check tokens), not when a module names these types.
        import jwt  # noqa: F401

        self._secret = signing_secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._clock = clock
        self._purpose = purpose

    def _key(self) -> bytes:
        key = self._secret().encode("utf-8")
        if len(key) < MIN_SECRET_BYTES:
            raise RuntimeError(f"JWT signing secret must be at least {MIN_SECRET_BYTES} bytes")
        return key

    def issue_access_token(self, subject: str, generation: int) -> AccessToken:
        """A token for `subject`, stamped with the account's token generation now (0 for an
        account that never ended all its tokens)."""
        return self.issue(subject, generation)

    def issue(self, subject: str, generation: int, **extra: str) -> AccessToken:
        """A signed token of this issuer's audience (and purpose), with `extra` claims."""
        import jwt

        now = int(self._clock.now())
        claims: dict[str, Any] = {
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl,
            "iss": self._issuer,
            "aud": self._audience,
            "jti": uuid.uuid4().hex,
            "gen": generation,
            **extra,
        }
        if self._purpose is not None:
            claims["purpose"] = self._purpose
        token = jwt.encode(claims, self._key(), algorithm=ALGORITHM)
        return AccessToken(token, self._ttl, claims["jti"])

    def decode_access_token(self, token: str) -> dict[str, Any]:
        """Claims of a valid token; the algorithm is pinned, so `alg: none` and RS/HS swaps fail.

        Raises InvalidToken (with its reason) for anything else. Whether the token was ended
        since is not known here: see TokenRevocations.
        """
        import jwt

        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key(),
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                # The other claims are checked below, strictly, against the injected clock.
                options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(MALFORMED, str(exc)) from exc
        self._check_claims(claims)
        return claims

    def verify(self, token: str) -> TokenClaims:
        """decode_access_token, as typed claims."""
        claims = self.decode_access_token(token)
        return TokenClaims(
            subject=claims["sub"],
            jti=claims["jti"],
            issued_at=claims["iat"],
            expires_at=claims["exp"],
            generation=claims["gen"],
        )

    def _check_claims(self, claims: Mapping[str, Any]) -> None:
        sub = claims.get("sub")
        subject = sub if isinstance(sub, str) and sub else None
        if subject is None:
            raise InvalidToken(INVALID_CLAIMS, "sub must be a non-empty string")
        missing = [name for name in REQUIRED_CLAIMS if name not in claims]
        if missing:
            raise InvalidToken(INVALID_CLAIMS, f"{', '.join(missing)} missing", subject)
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > MAX_JTI_LENGTH:
            raise InvalidToken(INVALID_CLAIMS, "jti must be a short non-empty string", subject)
        for name in ("iat", "nbf", "exp", "gen"):
            if not _is_int(claims[name]):
                raise InvalidToken(INVALID_CLAIMS, f"{name} must be an integer", subject)
        if claims["gen"] < 0:
            raise InvalidToken(INVALID_CLAIMS, "gen must not be negative", subject)
        if claims.get("purpose") != self._purpose:  # a token of another kind, though signed
            raise InvalidToken(MALFORMED, "a token of another purpose", subject)
        now = self._clock.now()
        if claims["exp"] <= now:
            raise InvalidToken(EXPIRED, "", subject)
        for name in ("iat", "nbf"):
            if claims[name] > now + CLOCK_SKEW_SECS:
                raise InvalidToken(NOT_YET_VALID, f"{name} is in the future", subject)


@dataclass(frozen=True)
class ReauthClaims:
    """A reauth token whose signature, audience, purpose and time claims held."""

    subject: str
    session: str  # the `jti` of the access token it was asked for with
    generation: int  # the account's token generation when it was issued


class ReauthTokenIssuer:
    """Reauth tokens: the access tokens' secret and issuer, their own audience and purpose."""

    def __init__(
        self,
        signing_secret: Callable[[], str],
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Clock,
    ) -> None:
        """`audience`: the access tokens' own; a reauth token's is it plus ":reauth"."""
        self._tokens = AccessTokenIssuer(
            signing_secret,
            issuer=issuer,
            audience=audience + REAUTH_AUDIENCE_SUFFIX,
            ttl_seconds=ttl_seconds,
            clock=clock,
            purpose=REAUTH_PURPOSE,
        )

    def issue(self, subject: str, session: str, generation: int) -> AccessToken:
        return self._tokens.issue(subject, generation, sid=session)

    def verify(self, token: str) -> ReauthClaims:
        """Its claims, or InvalidToken (with its reason) as for an access token."""
        claims = self._tokens.decode_access_token(token)
        session = claims.get("sid")
        if not isinstance(session, str) or not session or len(session) > MAX_JTI_LENGTH:
            raise InvalidToken(INVALID_CLAIMS, "sid must be a short string", claims["sub"])
        return ReauthClaims(claims["sub"], session, claims["gen"])


def revocation_refusal(
    claims: TokenClaims,
    account_generation: int | None,
    ended_until: float | None,
    now: float,
) -> str | None:
    """Why a token with valid claims is no longer active, or None while it is.

    `account_generation`: the account's `token_gen` (None: no such account any more);
    `ended_until`: the expiry stored with this token's logout (None: never logged out). A
    logout record past its expiry counts as gone, as TTL deletion lags.
    """
    if account_generation is None:
        return ACCOUNT_GONE
    if claims.generation < account_generation:
        return ALL_TOKENS_ENDED
    if ended_until is not None and ended_until > now:
        return TOKEN_ENDED
    return None
