"""What the stronger factors need from outside (docs/factors.md): encryption of an
authenticator app's secret at rest, and the factors kept on the account's item."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol


class Encryption(Protocol):
    """Authenticated encryption of a small secret (KMS in AWS, a key from SSM locally). The
    `context` is bound to the ciphertext: a secret decrypts only for the account it was
    encrypted for (a ciphertext copied onto another account's item fails)."""

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> bytes: ...

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> bytes:
        """Raises StorageUnavailable when the key service cannot answer, DecryptionFailed
        when the ciphertext or its context is not the one encrypted."""
        ...


@dataclass(frozen=True)
class TotpSecret:
    """An account's confirmed app: its secret, encrypted, and the last time step it used."""

    ciphertext: bytes
    last_step: int | None


class AccountFactors(Protocol):
    """The account's stronger factors, each change one conditional write on its item."""

    def totp_secret(self, user_id: str) -> TotpSecret | None:
        """The account's confirmed app, read consistently (None: it has none)."""
        ...

    def enable_totp(
        self, user_id: str, ciphertext: bytes, now: float, step: int, recovery: list[str]
    ) -> bool:
        """Keep the confirmed app (its first code's `step` as the last used) and replace the
        recovery codes with the digests `recovery`, only on an existing account without an
        app. False when the condition failed (an app already, or no account)."""
        ...

    def use_totp_step(self, user_id: str, step: int) -> bool:
        """Record `step` as the app's last used one, only while it is later than the last
        (domain/totp.py step_is_fresh). False: replayed, or the app is gone."""
        ...

    def remove_totp(self, user_id: str, *, passkeys_expected: bool = False) -> bool:
        """Remove the app, and the recovery codes only when no passkey is left
        (domain/factors.py codes_outlive_removal), decided by the write's own condition.
        `passkeys_expected`: whether the account read held a passkey (which write to try
        first). False when it had no app."""
        ...

    def give_recovery_codes(self, user_id: str, digests: list[str]) -> bool:
        """Keep `digests` as the account's recovery codes, only while it has none (its first
        stronger factor). False: it has some already, or no account."""
        ...

    def spend_recovery_code(self, user_id: str, digest: str) -> bool:
        """Remove the code of `digest` from the account's unspent ones, only while it is
        there. False: never one of them, or spent already."""
        ...
