"""What the passkey flows need from outside (docs/factors.md#passkeys): the account's
credentials, the one-use challenges of their ceremonies, and the WebAuthn checks themselves
(the `webauthn` library, adapters/webauthn_ceremony.py: only the functions that make or check a
ceremony carry it and its cryptography)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from phoneverify.domain.passkeys import CeremonyPurpose, Passkey, PasskeyChallenge


class PasskeyStore(Protocol):
    def add(self, passkey: Passkey, *, limit: int) -> None:
        """Keep `passkey` for its account, only if no account holds its credential id and the
        account holds fewer than `limit`. Raises PasskeyAlreadyRegistered, TooManyPasskeys or
        StorageUnavailable; nothing is written then."""
        ...

    def of_account(self, user_id: str) -> list[Passkey]:
        """The account's passkeys, oldest first."""
        ...

    def get(self, passkey_id: str) -> Passkey | None:
        """The passkey of that credential id, whoever holds it."""
        ...

    def record_use(self, passkey: Passkey, sign_count: int, used_at: float) -> bool:
        """Move the counter from `passkey.sign_count` to `sign_count`, only if it still is the
        one read (a concurrent use of a cloned key loses). False: it moved meanwhile."""
        ...

    def remove(self, user_id: str, passkey_id: str, *, last_expected: bool = False) -> bool:
        """Remove the account's passkey; with it the recovery codes when it was the account's
        last stronger factor (domain/factors.py codes_outlive_removal), decided by the write's
        own condition. `last_expected`: what the account read said (which write to try
        first). False when the account holds no such passkey."""
        ...


class PasskeyChallenges(Protocol):
    def put(self, challenge: PasskeyChallenge) -> None:
        """Keep a new challenge (a conditional put: a key already kept is never replaced)."""
        ...

    def spend(
        self, key: str, *, user_id: str, purpose: CeremonyPurpose, subject: str, now: float
    ) -> PasskeyChallenge | None:
        """Delete and return the challenge kept under `key` when `challenge_usable` says this
        account may spend it now, for this purpose and subject; None otherwise (unknown,
        spent, expired, another's). One conditional write: it is spent once."""
        ...


@dataclass(frozen=True)
class NewCredential:
    """A registration the ceremony verified: what is kept of the credential."""

    credential_id: str  # base64url
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...]


class InvalidCeremony(Exception):
    """The browser's answer did not verify (the library's reason, for the audit only)."""


class WebAuthnCeremony(Protocol):
    def creation_options(
        self,
        *,
        user_id: str,
        user_name: str,
        display_name: str,
        challenge: bytes,
        exclude: Sequence[Passkey],
    ) -> dict[str, Any]:
        """PublicKeyCredentialCreationOptions as JSON (base64url for bytes)."""
        ...

    def request_options(self, *, challenge: bytes, allow: Sequence[Passkey]) -> dict[str, Any]:
        """PublicKeyCredentialRequestOptions as JSON."""
        ...

    def client_challenge(self, credential: Mapping[str, Any]) -> bytes:
        """The challenge the browser signed (from clientDataJSON), before anything is checked.
        Raises InvalidCeremony for a credential that is not one."""
        ...

    def credential_id(self, credential: Mapping[str, Any]) -> str:
        """The credential id (base64url) an assertion names. Raises InvalidCeremony."""
        ...

    def verify_registration(
        self, credential: Mapping[str, Any], *, challenge: bytes
    ) -> NewCredential:
        """Check an attestation against `challenge`, the RP id and the origins. Raises
        InvalidCeremony."""
        ...

    def verify_assertion(
        self, credential: Mapping[str, Any], *, challenge: bytes, passkey: Passkey
    ) -> int:
        """Check an assertion by `passkey` against `challenge`, the RP id and the origins;
        the new signature counter (the library refuses one that did not grow). Raises
        InvalidCeremony."""
        ...
