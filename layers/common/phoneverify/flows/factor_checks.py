"""Codes the provider does not check: an authenticator app's and a recovery code, told right
or wrong for a challenge's account (its `subject`), as `Challenges.check`'s `verifier`. A code
either refuses is a wrong code like an SMS code (one attempt, the account's count and lock).

Each accepted code is spent by a conditional write before the challenge is consumed: an app's
time step (the replay rule, domain/totp.py) and a recovery code (removed from the unspent
ones). A challenge another request consumes first leaves the code spent: the safe side."""

from __future__ import annotations

import base64
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from phoneverify.domain.audit_events import VerificationEventType as Event
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import InvalidRequest
from phoneverify.domain.factors import FactorKind
from phoneverify.domain.models import FlowKind, PendingVerification, RequestOrigin
from phoneverify.domain.passkeys import CeremonyPurpose
from phoneverify.domain.recovery_codes import code_digest
from phoneverify.domain.totp import matching_step
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.ports.factors import AccountFactors, Encryption

if TYPE_CHECKING:
    from phoneverify.flows.passkey_step import PasskeyStep

Verifier = Callable[[PendingVerification, str], bool]


def secret_context(user_id: str) -> dict[str, str]:
    """The encryption context of an account's app secret: it decrypts for that account only."""
    return {"user_id": user_id, "factor": FactorKind.TOTP.value}


def encrypt_secret(encryption: Encryption, user_id: str, secret: str) -> str:
    ciphertext = encryption.encrypt(secret.encode("ascii"), secret_context(user_id))
    return base64.b64encode(ciphertext).decode("ascii")


def unseal_b64(sealed: str) -> bytes:
    """The ciphertext kept in a challenge's data (base64) as bytes."""
    return base64.b64decode(sealed)


def decrypt_secret(encryption: Encryption, user_id: str, ciphertext: bytes | str) -> str:
    raw = unseal_b64(ciphertext) if isinstance(ciphertext, str) else ciphertext
    return encryption.decrypt(raw, secret_context(user_id)).decode("ascii")


class FactorChecks:
    def __init__(
        self,
        *,
        factors: AccountFactors,
        encryption: Encryption,
        clock: Clock,
        audit: FlowAudit,
        pepper: Callable[[], bytes],
    ) -> None:
        self._factors = factors
        self._encryption = encryption
        self._clock = clock
        self._audit = audit
        self._pepper = pepper

    def totp(self, origin: RequestOrigin, kind: FlowKind) -> Verifier:
        """Right when the code is the account's app's for a step after its last used one,
        and that step is recorded as used (one conditional write): a code is accepted once."""

        def right(record: PendingVerification, code: str) -> bool:
            stored = self._factors.totp_secret(record.subject)
            if stored is None:  # no app on the account (or another account's flow): wrong
                return False
            secret = decrypt_secret(self._encryption, record.subject, stored.ciphertext)
            step = matching_step(secret, code, self._clock.now())
            if step is None:
                return False
            if self._factors.use_totp_step(record.subject, step):
                return True
            self._audit.record(Event.TOTP_REPLAY_REFUSED, record.subject, origin, kind=kind)
            return False

        return right

    def recovery(self, origin: RequestOrigin, kind: FlowKind) -> Verifier:
        """Right when the code is one of the account's unspent recovery codes; it is spent
        by the same conditional write, so a code is accepted once."""

        def right(record: PendingVerification, code: str) -> bool:
            digest = code_digest(self._pepper(), code)
            if digest is None or not self._factors.spend_recovery_code(record.subject, digest):
                return False
            self._audit.record(Event.RECOVERY_CODE_USED, record.subject, origin, kind=kind)
            return True

        return right


def step_verifier(
    factor: FactorKind,
    *,
    checks: FactorChecks | None,
    passkeys: PasskeyStep | None,
    credential: Mapping[str, Any] | None,
    origin: RequestOrigin,
    kind: FlowKind,
    purpose: CeremonyPurpose,
) -> Verifier | None:
    """What tells a second step's answer by `factor` right (a login's, a step-up's): None for
    the SMS code (the provider), the app's code by `checks`, a passkey's `credential` by
    `passkeys`; a 400 for a factor the function was built without."""
    if factor is FactorKind.SMS:
        return None
    if factor is FactorKind.TOTP and checks is not None:
        return checks.totp(origin, kind)
    if factor is FactorKind.PASSKEY and passkeys is not None:
        if credential is None:
            raise InvalidRequest("credential is required", field="credential")
        return passkeys.verifier(credential, origin, purpose)
    raise InvalidRequest("this factor is not available", field="factor")
