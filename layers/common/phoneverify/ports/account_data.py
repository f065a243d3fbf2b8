"""What the account's own data routes need (docs/privacy.md): the account deleted with what
points to it, its payments found by payer, its audit trail read, its passkeys listed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from phoneverify.domain.models import Payment
from phoneverify.domain.passkeys import Passkey


@dataclass(frozen=True)
class DeletedAccount:
    """What a deleted account held that its last notices go to: kept in memory only, for the
    notices the deletion sends."""

    email: str
    phone_number: str | None


class AccountDeletion(Protocol):
    def delete(self, user_id: str) -> DeletedAccount | None:
        """Erase the account and free what points to it, all or nothing (None: no such
        account, nothing written). StorageUnavailable when it cannot be done now."""
        ...


class PaymentHistory(Protocol):
    def of_payer(self, user_id: str) -> list[Payment]:
        """Every payment kept of `user_id`, oldest first."""
        ...

    def cancel(self, payment_id: str, now: float) -> bool:
        """The payment lifecycle's `cancel` (pending -> cancelled); False when not pending."""
        ...

    def forget_payer(self, user_id: str) -> None:
        """Forget what is counted of the payer beside the payments (their count without a code)."""
        ...


class AuditReader(Protocol):
    def events_for(self, subject: str, limit: int = 100) -> list[dict[str, Any]]:
        """The newest `limit` audit records of `subject`, newest first."""
        ...


class PasskeyList(Protocol):
    def of_account(self, user_id: str) -> list[Passkey]: ...
