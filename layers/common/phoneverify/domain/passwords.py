"""Password hashing with bcrypt, and the password policy (NIST SP 800-63B)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import unicodedata
from collections.abc import Iterable
from functools import cache, cached_property
from importlib import resources

import bcrypt

from phoneverify.domain.errors import WeakPassword

# bcrypt reads at most 72 bytes; bcrypt 5 raises instead of truncating.
BCRYPT_MAX_BYTES = 72
# Passwords are pre-hashed to 44 ASCII bytes before bcrypt (see PasswordHasher._encode). The
# key is a fixed, public label, not a secret: it makes the pre-hash differ from any other
# system's plain SHA-256 of the same password.
PREHASH_KEY = b"phoneverify/password-prehash/v1"

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 1024
COMMON_PASSWORDS_FILE = "data/common_passwords.txt"


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of commonly used passwords (lower case), read once per container."""
    text = resources.files("phoneverify").joinpath(COMMON_PASSWORDS_FILE).read_text("utf-8")
    return frozenset(line for line in text.splitlines() if line)


def check_password(password: str, *, context: Iterable[str] = (), field: str = "password") -> None:
    """Refuse a password NIST SP 800-63B would: shorter than 8 characters, longer than we
    accept, commonly used, or one of `context` (words of this account: its email, its name).
    No composition rules. Raises WeakPassword naming `field`."""
    normalised = unicodedata.normalize("NFKC", password)
    length = len(normalised)
    if length < MIN_PASSWORD_LENGTH:
        raise WeakPassword(f"Password must be at least {MIN_PASSWORD_LENGTH} characters", field)
    if length > MAX_PASSWORD_LENGTH:
        raise WeakPassword(f"Password must be at most {MAX_PASSWORD_LENGTH} characters", field)
    folded = normalised.lower()
    if folded in common_passwords():
        raise WeakPassword("This password is too common. Please choose another.", field)
    if any(word and folded == word.lower() for word in context):
        raise WeakPassword("Password must not be your email address or name", field)


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

    def warm(self) -> None:
        """Compute now the hash an unknown account is checked against (a bcrypt at the cost),
        which the first such check would: before a SnapStart snapshot (phoneverify/snapstart.py)."""
        self._dummy_hash  # noqa: B018 - a cached property

    @cached_property
    def _dummy_hash(self) -> bytes:
        # Same cost as real hashes, so an unknown email costs the same time as a wrong password.
        return bcrypt.hashpw(secrets.token_bytes(16), bcrypt.gensalt(self._cost))

    @staticmethod
    def _encode(password: str) -> bytes:
        """What bcrypt hashes: HMAC-SHA256 of the NFKC-normalised password, base64-encoded.

        44 bytes whatever the password's length, so no part of a long password is ignored
        (bcrypt reads at most 72 bytes), and no NUL byte can end it early.
        """
        normalised = unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")
        digest = hmac.new(PREHASH_KEY, normalised, hashlib.sha256).digest()
        return base64.b64encode(digest)
