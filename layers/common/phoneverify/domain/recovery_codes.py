"""Recovery codes (docs/factors.md#recovery-codes): ten one-time codes given when a factor
stronger than SMS is enrolled, each usable once at login in place of a second factor, never
for a payment.

Stored as keyed digests (HMAC-SHA256 under the pepper, domain/keyed.py), not bcrypt: a code
carries 50 random bits, so a slow hash buys nothing against guessing that the pepper (kept in
SSM, away from the table) does not already stop, and an exact digest lets one conditional
write spend the code (`contains`, then `DELETE` from the set) where bcrypt would need the ten
hashes read and compared one by one, a quarter of a second each, on every login attempt.
"""

from __future__ import annotations

import secrets

from phoneverify.domain.keyed import keyed_digest

COUNT = 10
# Crockford's base32 without the letters people confuse (i, l, o, u): 5 bits a character.
ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
CHARS = 10  # 50 random bits a code
GROUP = 5  # shown as "xxxxx-xxxxx"
DIGEST_PREFIX = "recovery:"  # domain separation from every other keyed digest


def new_codes() -> list[str]:
    """Ten fresh codes, as shown to the person (once)."""
    return [_format("".join(secrets.choice(ALPHABET) for _ in range(CHARS))) for _ in range(COUNT)]


def _format(raw: str) -> str:
    return f"{raw[:GROUP]}-{raw[GROUP:]}"


def normalise(code: str) -> str | None:
    """The code as stored (lower case, no dash or spaces), or None when it cannot be one."""
    raw = code.strip().lower().replace("-", "").replace(" ", "")
    if len(raw) != CHARS or any(ch not in ALPHABET for ch in raw):
        return None
    return raw


def code_digest(pepper: bytes, code: str) -> str | None:
    """The keyed digest a code is kept under; None when `code` is not shaped like one."""
    raw = normalise(code)
    return None if raw is None else keyed_digest(pepper, DIGEST_PREFIX + raw)


def digests_of(pepper: bytes, codes: list[str]) -> list[str]:
    """The digests `codes` (fresh from `new_codes`) are kept under."""
    return [keyed_digest(pepper, DIGEST_PREFIX + code.replace("-", "")) for code in codes]
