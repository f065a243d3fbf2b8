"""A passkey answering the second step of a code challenge (docs/factors.md#passkeys): a
login's, a step-up's, a password reset's.

The challenge's flow is the ceremony's subject (its stored key, a digest of the flow id) and
its account the one whose passkeys are allowed: `options` keeps a random WebAuthn challenge for
that account, purpose and flow; `verifier` is a `Challenges.check` verifier that spends it
(flows/engine/passkey_assertion.py: the account's own credential, the challenge once, the
signature, origin, RP id and counter). A refused assertion is a wrong code like any: one of the
flow's attempts and the account's wrong-code count, so its caps and lock are the SMS code's.
An assertion made for another flow, purpose or account answers a challenge kept for that one
and is refused."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from phoneverify.domain.models import PendingVerification, RequestOrigin
from phoneverify.domain.passkeys import CeremonyPurpose, PasskeyRejected
from phoneverify.flows.engine.passkey_assertion import PasskeyAssertions
from phoneverify.flows.factor_checks import Verifier

# What `Challenges.check` is given as the "code" of a passkey's answer: the verifier reads
# the credential, never this.
ASSERTION = "passkey-assertion"


class PasskeyStep:
    def __init__(self, assertions: PasskeyAssertions) -> None:
        self._assertions = assertions

    def options(
        self, record: PendingVerification, purpose: CeremonyPurpose, *, discoverable: bool = False
    ) -> dict[str, Any]:
        """Request options for the account's passkeys, their challenge bound to this flow
        (`discoverable`: naming none, alike for every account: PasskeyAssertions.options)."""
        return self._assertions.options(
            record.subject, purpose, record.flow_key, discoverable=discoverable
        )

    def verifier(
        self, credential: Mapping[str, Any], origin: RequestOrigin, purpose: CeremonyPurpose
    ) -> Verifier:
        def right(record: PendingVerification, _answer: str) -> bool:
            try:
                self._assertions.verify(
                    record.subject, purpose, record.flow_key, credential, origin
                )
            except PasskeyRejected:
                return False
            return True

        return right
