"""Password hashing with bcrypt."""

from __future__ import annotations

import secrets
from functools import cached_property

import bcrypt

# bcrypt reads at most 72 bytes; bcrypt 5 raises instead of truncating.
BCRYPT_MAX_BYTES = 72


class PasswordHasher:
    def __init__(self, cost: int = 12) -> None:
        self._cost = cost

    def hash(self, password: str) -> str:
        return bcrypt.hashpw(self._encode(password), bcrypt.gensalt(self._cost)).decode("ascii")

    def verify(self, password: str, password_hash: str | None) -> bool:
        """Check `password`; with no hash (unknown account) do the same work and answer False."""
        candidate = self._encode(password)
        if password_hash is None:
            bcrypt.checkpw(candidate, self._dummy_hash)
            return False
        try:
            return bcrypt.checkpw(candidate, password_hash.encode("ascii"))
        except ValueError:
            return False

    @cached_property
    def _dummy_hash(self) -> bytes:
        # Same cost as real hashes, so an unknown email costs the same time as a wrong password.
        return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(self._cost))

    @staticmethod
    def _encode(password: str) -> bytes:
        # Longer inputs are cut at 72 bytes, the part bcrypt reads; registration refuses them.
        return password.encode("utf-8")[:BCRYPT_MAX_BYTES]
