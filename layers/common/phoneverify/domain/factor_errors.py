"""The errors of the stronger factors (docs/factors.md); their statuses are in
http/errors.py like every other error's."""

from __future__ import annotations

from phoneverify.domain.errors import DomainError, InvalidRequest, StorageUnavailable


class FactorAlreadyEnrolled(DomainError):
    """The account already has this factor: remove it first (with the step-up)."""

    code = "factor_already_enrolled"
    message = "This factor is already on the account. Remove it first to add another."


class FactorNotEnrolled(DomainError):
    """The account has no such factor (nothing to remove, nothing to answer with)."""

    code = "factor_not_enrolled"
    message = "The account has no such factor."

    def __init__(self, message: str | None = None, field: str = "factor") -> None:
        super().__init__(message, field=field)


class FactorRequired(InvalidRequest):
    """A password reset of an account with a factor stronger than SMS, whose SMS code was
    right, but without that factor's code or a recovery code: an SMS alone (a swapped SIM)
    never replaces it. The flow stays proven: send the same code again with `totp_code` or
    `recovery_code`. Told only to someone who proved the account's phone."""

    code = "factor_required"
    message = (
        "This account has an authenticator app: send its code as totp_code, "
        "or a recovery code as recovery_code, with the same SMS code."
    )

    def __init__(self, factors: list[str]) -> None:
        super().__init__(None, field="totp_code", factors=factors)


class DecryptionFailed(StorageUnavailable):
    """A stored secret did not decrypt (the key service refused it, or it is not the
    account's): a fault of ours, answered as the storage being unavailable, never as a
    wrong code, and logged without the secret."""
