"""Access tokens: HS256 JWTs signed with a secret held in SSM."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jwt

from phoneverify.clock import Clock

ALGORITHM = "HS256"
MIN_SECRET_BYTES = 32
CLOCK_SKEW_SECS = 30


class InvalidToken(Exception):
    """The token is missing, malformed, forged, expired or meant for someone else."""


@dataclass(frozen=True)
class AccessToken:
    token: str
    expires_in: int

    def body(self) -> dict[str, Any]:
        return {"token": self.token, "token_type": "Bearer", "expires_in": self.expires_in}


class AccessTokenIssuer:
    def __init__(
        self,
        signing_secret: Callable[[], str],
        *,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        clock: Clock,
    ) -> None:
        self._secret = signing_secret
        self._issuer = issuer
        self._audience = audience
        self._ttl = ttl_seconds
        self._clock = clock

    def _key(self) -> bytes:
        key = self._secret().encode("utf-8")
        if len(key) < MIN_SECRET_BYTES:
            raise RuntimeError(f"JWT signing secret must be at least {MIN_SECRET_BYTES} bytes")
        return key

    def issue_access_token(self, subject: str) -> AccessToken:
        now = int(self._clock.now())
        claims = {
            "sub": subject,
            "iat": now,
            "nbf": now,
            "exp": now + self._ttl,
            "iss": self._issuer,
            "aud": self._audience,
            "jti": uuid.uuid4().hex,
        }
        return AccessToken(jwt.encode(claims, self._key(), algorithm=ALGORITHM), self._ttl)

    def decode_access_token(self, token: str) -> dict[str, Any]:
        """Claims of a valid token; the algorithm is pinned, so `alg: none` and RS/HS swaps fail."""
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key(),
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                # Time claims are checked below against the injected clock.
                options={
                    "require": ["sub", "iat", "exp", "iss", "aud", "jti"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError as exc:
            raise InvalidToken(str(exc)) from exc
        now = self._clock.now()
        if not isinstance(claims["exp"], int) or claims["exp"] <= now:
            raise InvalidToken("token expired")
        if isinstance(claims.get("nbf"), int) and claims["nbf"] > now + CLOCK_SKEW_SECS:
            raise InvalidToken("token not yet valid")
        return claims
