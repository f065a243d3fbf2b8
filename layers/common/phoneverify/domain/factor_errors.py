"""The errors of the stronger factors (docs/factors.md); their statuses are in
http/errors.py like every other error's."""

from __future__ import annotations

from phoneverify.domain.errors import DomainError, StorageUnavailable


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


class DecryptionFailed(StorageUnavailable):
    """A stored secret did not decrypt (the key service refused it, or it is not the
    account's): a fault of ours, answered as the storage being unavailable, never as a
    wrong code, and logged without the secret."""
