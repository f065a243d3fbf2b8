"""What the account's own data routes need (docs/privacy.md): the account deleted with what
points to it, its payments found by payer, its audit trail read, its passkeys listed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from phoneverify.domain.deletion import DeletionMarker
from phoneverify.domain.models import Payment
from phoneverify.domain.notices import OutboxNotice
from phoneverify.domain.passkeys import Passkey


@dataclass(frozen=True)
class DeletedAccount:
    """What a deleted account held that its last notices go to: kept in memory only, for the
    notices the deletion sends."""

    email: str
    phone_number: str | None


@dataclass(frozen=True)
class Alongside:
    """What the deletion's transaction writes with it, made from the account as the
    transaction reads it: the phone's last notice (into the outbox) and the marker of the
    cleanup still to do. A crash after the transaction cannot lose either."""

    notice: OutboxNotice | None = None
    marker: DeletionMarker | None = None


class AccountDeletion(Protocol):
    def delete(
        self, user_id: str, alongside: Callable[[DeletedAccount], Alongside] | None = None
    ) -> DeletedAccount | None:
        """Erase the account and free what points to it, with what `alongside` makes of it,
        all or nothing (None: no such account, nothing written). StorageUnavailable when it
        cannot be done now."""
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


class DeletionMarkers(Protocol):
    """The markers deletions leave until their cleanup is done (domain/deletion.py)."""

    def oldest(self, limit: int) -> list[DeletionMarker]:
        """Up to `limit` markers, oldest first."""
        ...

    def done(self, user_id: str) -> None:
        """The marker of `user_id` deleted (nothing when it is gone already)."""
        ...


class AuditScrub(Protocol):
    def pseudonymise(self, subjects: tuple[str, ...]) -> int:
        """Every audit record under `subjects` keeps only what domain/deletion.py keeps (the
        records this request has written so far included); the records changed. Idempotent.
        StorageUnavailable when it cannot be done now."""
        ...
