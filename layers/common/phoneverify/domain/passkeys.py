"""Passkeys (WebAuthn; docs/factors.md#passkeys): what is kept of a credential, the one-use
challenges of its ceremonies, and the payment-bound challenge.

A ceremony's challenge is kept under a digest of itself (`challenge_key`), for its purpose,
account and subject (the login flow or the payment), until it expires; answering it spends
it, once (`challenge_usable` is the one rule the DynamoDB adapter's condition and the fake
share). A payment's challenge is not random: it is SHA-256 over a canonical encoding of a
random nonce and the payment's id, amount, currency and recipient (`payment_challenge`), so the
authenticator's signature covers that payment and no other (PSD2 RTS Art. 5's dynamic linking,
the idea of W3C Secure Payment Confirmation). The confirm derives it again from the payment as
stored then: a signature made for another payment, or before the amount or the recipient
changed, answers a different challenge and is refused.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from phoneverify.domain.errors import DomainError

# Bytes of randomness in a ceremony's challenge and a payment's nonce (WebAuthn asks >= 16).
CHALLENGE_BYTES = 32
# Passkeys one account may hold: a phone, a laptop, a security key or two, with room to spare.
MAX_PASSKEYS = 10
PAYMENT_BINDING = "phone-verify/payment-confirmation/v1"


class CeremonyPurpose(StrEnum):
    REGISTER = "register"  # a new passkey, behind the step-up
    LOGIN = "login"  # the second factor after the password (subject: the login flow)
    PAYMENT = "payment"  # a payment's step-up (subject: the payment)
    STEP_UP = "step_up"  # fresh authentication before an account change (subject: its flow)
    RESET = "reset"  # a password reset's stronger factor (subject: the reset flow)


@dataclass(frozen=True)
class Passkey:
    """A credential of the account: its id (base64url, as the browser names it), its COSE
    public key, the signature counter last seen and the transports the browser reported."""

    passkey_id: str
    user_id: str
    public_key: bytes
    sign_count: int
    transports: tuple[str, ...]
    created_at: float
    last_used_at: float | None = None


@dataclass(frozen=True)
class PasskeyChallenge:
    """A ceremony's challenge, kept until answered once or expired. `nonce`: a payment's
    (the challenge is derived from it and the payment, never stored itself)."""

    key: str
    purpose: CeremonyPurpose
    user_id: str
    subject: str
    expires_at: float
    nonce: bytes | None = None


def challenge_key(challenge: bytes) -> str:
    """Where a challenge is kept: a digest of it (the challenge never sits in a table)."""
    return hashlib.sha256(b"webauthn-challenge:" + challenge).hexdigest()


def challenge_usable(
    challenge: PasskeyChallenge, *, user_id: str, purpose: CeremonyPurpose, subject: str, now: float
) -> bool:
    """May `challenge` be spent by this account, for this purpose and subject, at `now`?"""
    return (
        challenge.user_id == user_id
        and challenge.purpose == purpose
        and challenge.subject == subject
        and now < challenge.expires_at
    )


def payment_challenge(
    *, nonce: bytes, payment_id: str, amount: str, currency: str, recipient: str
) -> bytes:
    """The challenge a payment's passkey signature answers: SHA-256 over one canonical
    encoding (JSON, sorted keys, no whitespace, UTF-8) of the binding's name, the nonce and the
    payment's id, amount (its normalised decimal string), currency and recipient."""
    encoded = json.dumps(
        {
            "binding": PAYMENT_BINDING,
            "nonce": nonce.hex(),
            "payment_id": payment_id,
            "amount": amount,
            "currency": currency,
            "recipient": recipient,
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode("utf-8")
    return hashlib.sha256(encoded).digest()


class PasskeyRejected(DomainError):
    """The assertion or attestation did not verify: wrong challenge (spent, expired, for
    another payment or account), origin, RP id, signature or counter, or a credential the
    account does not hold. One answer for all: an attacker learns nothing of which."""

    code = "passkey_rejected"
    message = "The passkey could not be verified. Try again."


class PasskeyNotFound(DomainError):
    """No such passkey on this account (another account's is not found either)."""

    code = "passkey_not_found"
    message = "Passkey not found"


class PasskeyAlreadyRegistered(DomainError):
    code = "passkey_exists"
    message = "This passkey is already registered."


class TooManyPasskeys(DomainError):
    code = "too_many_passkeys"
    message = f"An account holds at most {MAX_PASSKEYS} passkeys: remove one first."
