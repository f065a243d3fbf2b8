"""A passkey's assertion, checked for one account and one purpose (docs/factors.md#passkeys):
the login's second factor, a payment's step-up. The one sequence every use follows:

1. the credential id the browser names must be a passkey of this account (another account's
   credential is refused as an unknown one);
2. the challenge the browser signed is spent, once, for this account, purpose and subject
   (`PasskeyChallenges.spend`: a conditional delete; a replayed assertion finds it gone);
3. the challenge we expect is derived again (`expected`: a payment's from the payment as
   stored now) and the library checks the signature, origin, RP id, user presence and
   verification, and that the counter grew;
4. the counter moves from the value read, conditionally (a clone racing the original loses).

Every outcome is audited; every refusal is one PasskeyRejected."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from typing import Any

from phoneverify.domain.clock import Clock
from phoneverify.domain.keyed import digest
from phoneverify.domain.models import FlowKind, RequestOrigin, VerificationEventType
from phoneverify.domain.passkeys import (
    CHALLENGE_BYTES,
    CeremonyPurpose,
    Passkey,
    PasskeyChallenge,
    PasskeyRejected,
    challenge_key,
)
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.ports.passkeys import (
    InvalidCeremony,
    PasskeyChallenges,
    PasskeyStore,
    WebAuthnCeremony,
)

# What the flow derives the expected challenge from: the spent challenge's record.
Expected = Callable[[PasskeyChallenge], bytes]


def passkey_label(passkey_id: str) -> str:
    """How the audit names a passkey: a short digest of its credential id."""
    return digest(passkey_id)[:16]


class PasskeyAssertions:
    def __init__(
        self,
        *,
        passkeys: PasskeyStore,
        challenges: PasskeyChallenges,
        ceremony: WebAuthnCeremony,
        audit: FlowAudit,
        clock: Clock,
        timeout_secs: int,
        random_bytes: Callable[[int], bytes] = secrets.token_bytes,
    ) -> None:
        self._passkeys = passkeys
        self._challenges = challenges
        self._ceremony = ceremony
        self._audit = audit
        self._clock = clock
        self._timeout = timeout_secs
        self._random = random_bytes

    def options(
        self,
        user_id: str,
        purpose: CeremonyPurpose,
        subject: str,
        *,
        challenge: bytes | None = None,
        nonce: bytes | None = None,
        discoverable: bool = False,
    ) -> dict[str, Any]:
        """Request options for the account's passkeys, their challenge kept for one answer.
        `challenge`: a derived one (a payment's, from `nonce`); else a random one.
        `discoverable`: no credential named (the browser offers the site's own), and a
        challenge kept whether or not the account holds one: options that tell nobody
        whether it does (a password reset's, answered alike for a decoy)."""
        allow = [] if discoverable else self._passkeys.of_account(user_id)
        if not allow and not discoverable:
            raise PasskeyRejected("This account has no passkey.")
        challenge = challenge or self._random(CHALLENGE_BYTES)
        self._challenges.put(
            PasskeyChallenge(
                key=challenge_key(challenge),
                purpose=purpose,
                user_id=user_id,
                subject=subject,
                expires_at=self._clock.now() + self._timeout,
                nonce=nonce,
            )
        )
        return self._ceremony.request_options(challenge=challenge, allow=allow)

    def verify(
        self,
        user_id: str,
        purpose: CeremonyPurpose,
        subject: str,
        credential: Mapping[str, Any],
        origin: RequestOrigin,
        *,
        expected: Expected | None = None,
    ) -> Passkey:
        """The account's passkey that signed this purpose's challenge; else PasskeyRejected."""
        now = self._clock.now()
        try:
            passkey_id = self._ceremony.credential_id(credential)
            signed = self._ceremony.client_challenge(credential)
        except InvalidCeremony as exc:
            raise self._refuse(user_id, purpose, origin, "malformed", str(exc)) from None
        passkey = self._passkeys.get(passkey_id)
        if passkey is None or passkey.user_id != user_id:
            raise self._refuse(user_id, purpose, origin, "unknown_credential")
        spent = self._challenges.spend(
            challenge_key(signed), user_id=user_id, purpose=purpose, subject=subject, now=now
        )
        if spent is None:
            raise self._refuse(user_id, purpose, origin, "challenge_not_pending")
        challenge = expected(spent) if expected is not None else signed
        try:
            count = self._ceremony.verify_assertion(
                credential, challenge=challenge, passkey=passkey
            )
        except InvalidCeremony as exc:
            raise self._refuse(user_id, purpose, origin, "assertion_invalid", str(exc)) from None
        if not self._passkeys.record_use(passkey, count, now):
            raise self._refuse(user_id, purpose, origin, "counter_raced")
        self._audit.record(
            VerificationEventType.PASSKEY_ACCEPTED,
            user_id,
            origin,
            kind=FlowKind.PASSKEY,
            purpose=purpose.value,
            passkey=passkey_label(passkey.passkey_id),
        )
        return passkey

    def _refuse(
        self,
        user_id: str,
        purpose: CeremonyPurpose,
        origin: RequestOrigin,
        reason: str,
        why: str | None = None,
    ) -> PasskeyRejected:
        detail = {"why": why[:200]} if why else {}
        self._audit.record(
            VerificationEventType.PASSKEY_REJECTED,
            user_id,
            origin,
            kind=FlowKind.PASSKEY,
            purpose=purpose.value,
            reason=reason,
            **detail,
        )
        return PasskeyRejected()
