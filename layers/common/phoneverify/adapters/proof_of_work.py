"""The proof-of-work gate's HumanCheck: ALTCHA challenges (the `altcha` library's v1 format,
the one its widget up to v2 solves: find `number` with SHA-256(salt + number) = challenge),
signed with an HMAC key held in SSM, each accepted once (docs/abuse-controls.md).

A challenge carries its own expiry in its salt (`?expires=<epoch seconds>&`), as the library
embeds it: the salt is hashed into the challenge and the challenge is signed, so the expiry
cannot be moved. It is checked here against the injected clock (the library would read the
wall clock), and a solved payload is spent in the replay store before it is accepted.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import hmac
import json
import re
from collections.abc import Callable
from typing import Any, Literal, Protocol

from altcha.v1 import PayloadType, create_challenge, extract_params, hmac_hex, verify_solution

from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import ChallengeInvalid

ALGORITHM: Literal["SHA-256"] = "SHA-256"  # the only one issued, so the only one accepted
MIN_KEY_BYTES = 32
SALT_BYTES = 12  # the library's default: 96 random bits a challenge
# A solved payload is about 300 characters of base64; anything much longer is not one of ours.
MAX_PAYLOAD_CHARS = 1024
MAX_SALT_CHARS = 256
MAX_NUMBER_ACCEPTED = 10**12  # bounds the work of hashing a submitted number
HEX64 = re.compile(r"[0-9a-f]{64}")

EXPIRED = "The challenge expired: solve a fresh one from GET /challenge"
USED = "This challenge solution was already used: solve a fresh one from GET /challenge"


class SpentProofs(Protocol):
    """Solved payloads already accepted (adapters/dynamo/spent_proofs.py)."""

    def spend(self, digest: str, expires_at: int) -> bool:
        """Record `digest` as used until `expires_at`; False when it was used before."""
        ...


class ProofRefused(ChallengeInvalid):
    """ChallengeInvalid with the reason for the audit trail (never told to the client beyond
    its message)."""

    def __init__(self, reason: str, message: str | None = None) -> None:
        self.reason = reason
        super().__init__(message)


class AltchaHumanCheck:
    """HumanCheck by ALTCHA proof of work.

    `max_number`: the largest number a challenge may hide; a solver tries half as many
    hashes on average (docs/abuse-controls.md, the cost to a browser and to a pumper).
    `expires_secs`: how long an issued challenge may be solved and sent."""

    def __init__(
        self,
        hmac_key: Callable[[], str],
        spent: SpentProofs,
        clock: Clock,
        *,
        max_number: int,
        expires_secs: int,
    ) -> None:
        self._hmac_key = hmac_key
        self._spent = spent
        self._clock = clock
        self.max_number = max_number
        self.expires_secs = expires_secs

    def _key(self) -> str:
        key = self._hmac_key()
        if len(key.encode()) < MIN_KEY_BYTES:
            raise RuntimeError(f"ALTCHA HMAC key must be at least {MIN_KEY_BYTES} bytes")
        return key

    def issue(self) -> dict[str, Any]:
        expires = datetime.datetime.fromtimestamp(
            int(self._clock.now()) + self.expires_secs, tz=datetime.UTC
        )
        challenge = create_challenge(
            algorithm=ALGORITHM,
            max_number=self.max_number,
            salt_length=SALT_BYTES,
            hmac_key=self._key(),
            salt="",
            number=None,
            expires=expires,
            params=None,
        )
        # ALTCHA's wire names (its widget reads `maxnumber`).
        return {
            "algorithm": challenge.algorithm,
            "challenge": challenge.challenge,
            "maxnumber": challenge.max_number,
            "salt": challenge.salt,
            "signature": challenge.signature,
        }

    def verify(self, payload: str) -> None:
        solution = _parse(payload)
        key = self._key()
        # The signature first, in constant time (the library compares with ==): a payload
        # that does not carry our signature of its challenge learns nothing from the timing.
        expected = hmac_hex(ALGORITHM, solution["challenge"].encode(), key)
        if not hmac.compare_digest(expected, solution["signature"]):
            raise ProofRefused("forged")
        verified, _ = verify_solution(solution, key, check_expires=False)
        if not verified:
            raise ProofRefused("wrong_number")
        expires_at = _expiry(solution)
        if expires_at is None:
            raise ProofRefused("no_expiry")
        if expires_at <= self._clock.now():
            raise ProofRefused("expired", EXPIRED)
        digest = hashlib.sha256(
            f"{solution['challenge']}:{solution['signature']}".encode()
        ).hexdigest()
        if not self._spent.spend(digest, expires_at):
            raise ProofRefused("replayed", USED)


def _parse(payload: str) -> PayloadType:
    """The payload's fields, of the types and sizes ALTCHA's are; ProofRefused otherwise."""
    if not isinstance(payload, str) or not payload or len(payload) > MAX_PAYLOAD_CHARS:
        raise ProofRefused("malformed")
    try:
        decoded = json.loads(base64.b64decode(payload, validate=True).decode("utf-8"))
    except (binascii.Error, UnicodeDecodeError, ValueError, RecursionError):
        raise ProofRefused("malformed") from None
    if not isinstance(decoded, dict):
        raise ProofRefused("malformed")
    number = decoded.get("number")
    salt = decoded.get("salt")
    well_formed = (
        decoded.get("algorithm") == ALGORITHM
        and isinstance(decoded.get("challenge"), str)
        and HEX64.fullmatch(decoded["challenge"]) is not None
        and isinstance(decoded.get("signature"), str)
        and HEX64.fullmatch(decoded["signature"]) is not None
        and isinstance(number, int)
        and not isinstance(number, bool)
        and 0 <= number <= MAX_NUMBER_ACCEPTED
        and isinstance(salt, str)
        and 0 < len(salt) <= MAX_SALT_CHARS
    )
    if not well_formed or not isinstance(number, int) or not isinstance(salt, str):
        raise ProofRefused("malformed")
    return {
        "algorithm": ALGORITHM,
        "challenge": decoded["challenge"],
        "number": number,
        "salt": salt,
        "signature": decoded["signature"],
    }


def _expiry(solution: PayloadType) -> int | None:
    """The expiry the salt carries (epoch seconds), or None without exactly one."""
    values = extract_params(solution).get("expires", [])
    if len(values) != 1 or not values[0].isdigit() or len(values[0]) > 12:
        return None
    return int(values[0])
