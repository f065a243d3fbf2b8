"""Passkeys in tests: in-memory stores by the domain's rules, and a software authenticator
that makes attestations ('none') and assertions as a browser would hand them over (an EC P-256
key, CBOR and the client data built here), so the real `webauthn` library checks them."""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from phoneverify.domain.factors import codes_outlive_removal
from phoneverify.domain.passkeys import (
    CeremonyPurpose,
    Passkey,
    PasskeyAlreadyRegistered,
    PasskeyChallenge,
    TooManyPasskeys,
    challenge_usable,
)
from tests.support.fakes import InMemoryUsers

RP_ID = "localhost"
ORIGIN = "http://localhost:3000"


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class InMemoryPasskeys:
    """PasskeyStore: credential ids unique across accounts, a cap per account, the counter
    moved only from the value read."""

    def __init__(self, users: InMemoryUsers | None = None) -> None:
        """`users`: whose `passkey_count` follows every change, as the DynamoDB user item's
        `passkey_ids` does (the same transaction). `drop_codes`: set by the factors' fake,
        called when the last stronger factor goes (its recovery codes with it)."""
        self.by_id: dict[str, Passkey] = {}
        self._users = users
        self.drop_codes: Callable[[str], None] | None = None

    def _count(self, user_id: str) -> None:
        user = self._users.get(user_id) if self._users is not None else None
        if user is not None and self._users is not None:
            self._users.replace(replace(user, passkey_count=len(self.of_account(user_id))))

    def add(self, passkey: Passkey, *, limit: int) -> None:
        if passkey.passkey_id in self.by_id:
            raise PasskeyAlreadyRegistered()
        if len(self.of_account(passkey.user_id)) >= limit:
            raise TooManyPasskeys()
        self.by_id[passkey.passkey_id] = passkey
        self._count(passkey.user_id)

    def of_account(self, user_id: str) -> list[Passkey]:
        held = [p for p in self.by_id.values() if p.user_id == user_id]
        return sorted(held, key=lambda p: p.created_at)

    def get(self, passkey_id: str) -> Passkey | None:
        return self.by_id.get(passkey_id)

    def record_use(self, passkey: Passkey, sign_count: int, used_at: float) -> bool:
        current = self.by_id.get(passkey.passkey_id)
        if current is None or current.sign_count != passkey.sign_count:
            return False
        self.by_id[passkey.passkey_id] = replace(
            current, sign_count=sign_count, last_used_at=used_at
        )
        return True

    def remove(self, user_id: str, passkey_id: str, *, last_expected: bool = False) -> bool:
        current = self.by_id.get(passkey_id)
        if current is None or current.user_id != user_id:
            return False
        del self.by_id[passkey_id]
        self._count(user_id)
        user = self._users.get(user_id) if self._users is not None else None
        if user is not None and self.drop_codes is not None:
            app = user.totp_enrolled_at is not None
            if not codes_outlive_removal(passkeys_left=user.passkey_count, app_left=app):
                self.drop_codes(user_id)
        return True


class InMemoryPasskeyChallenges:
    """PasskeyChallenges: kept once, spent once, by `challenge_usable`."""

    def __init__(self) -> None:
        self.kept: dict[str, PasskeyChallenge] = {}

    def put(self, challenge: PasskeyChallenge) -> None:
        assert challenge.key not in self.kept
        self.kept[challenge.key] = challenge

    def spend(
        self, key: str, *, user_id: str, purpose: CeremonyPurpose, subject: str, now: float
    ) -> PasskeyChallenge | None:
        kept = self.kept.get(key)
        if kept is None or not challenge_usable(
            kept, user_id=user_id, purpose=purpose, subject=subject, now=now
        ):
            return None
        del self.kept[key]
        return kept


@dataclass
class SoftAuthenticator:
    """One passkey on a software authenticator: `create` answers creation options, `get`
    request options, as navigator.credentials would (JSON as @simplewebauthn/browser sends)."""

    origin: str = ORIGIN
    rp_id: str = RP_ID
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    credential_id: bytes = field(default_factory=lambda: secrets.token_bytes(16))
    sign_count: int = 0
    user_verified: bool = True

    @property
    def passkey_id(self) -> str:
        return b64url(self.credential_id)

    def cose_key(self) -> bytes:
        """The public key as a COSE_Key (what a verified registration keeps)."""
        numbers = self.key.public_key().public_numbers()
        return cbor2.dumps(
            {
                1: 2,
                3: -7,
                -1: 1,
                -2: numbers.x.to_bytes(32, "big"),
                -3: numbers.y.to_bytes(32, "big"),
            }
        )

    def _flags(self, attested: bool) -> int:
        return 0x01 | (0x04 if self.user_verified else 0) | (0x40 if attested else 0)

    def _client_data(self, kind: str, challenge: bytes) -> bytes:
        return json.dumps(
            {
                "type": kind,
                "challenge": b64url(challenge),
                "origin": self.origin,
                "crossOrigin": False,
            }
        ).encode()

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        challenge = unb64url(options["challenge"])
        rp_hash = hashlib.sha256(options["rp"]["id"].encode()).digest()
        attested = (
            bytes(16) + len(self.credential_id).to_bytes(2, "big") + self.credential_id
        ) + self.cose_key()
        auth_data = (
            rp_hash + bytes([self._flags(True)]) + self.sign_count.to_bytes(4, "big") + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        return {
            "id": self.passkey_id,
            "rawId": self.passkey_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(self._client_data("webauthn.create", challenge)),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
            "clientExtensionResults": {},
        }

    def get(self, options: dict[str, Any], *, challenge: bytes | None = None) -> dict[str, Any]:
        """An assertion of `options`' challenge (or of `challenge`, to forge one)."""
        signed = challenge if challenge is not None else unb64url(options["challenge"])
        self.sign_count += 1
        rp_hash = hashlib.sha256(options.get("rpId", self.rp_id).encode()).digest()
        auth_data = rp_hash + bytes([self._flags(False)]) + self.sign_count.to_bytes(4, "big")
        client_data = self._client_data("webauthn.get", signed)
        signature = self.key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": self.passkey_id,
            "rawId": self.passkey_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": None,
            },
            "clientExtensionResults": {},
        }
