"""The person's own data (docs/privacy.md): the export and the deletion, built only by
functions whose settings are an AccountDataSettings; and what finishes a deletion a crash
left half-done (`deletion_cleanup_adapters`), for any function with a PAYMENTS_TABLE."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from phoneverify.runtime.passkeys import Passkeys

if TYPE_CHECKING:
    from phoneverify.flows.account_data import AccountData


class AccountDataRoutes(Passkeys):
    @cached_property
    def account_data(self) -> AccountData:
        import secrets

        from phoneverify.account_data_config import AccountDataSettings
        from phoneverify.adapters.dynamo.account_deletion import DynamoAccountDeletion
        from phoneverify.adapters.dynamo.passkeys import DynamoPasskeys
        from phoneverify.flows.account_data import AccountData
        from phoneverify.flows.account_deletion import DeletionCleanup
        from phoneverify.flows.engine.email_notices import EmailNotices

        s = self.settings_as(AccountDataSettings)

        def occasion() -> str:  # the request, as the outbox's other notices (runtime/guards)
            return self.current_request_id() or secrets.token_hex(16)

        return AccountData(
            users=self.users,
            deletion=DynamoAccountDeletion(self.dynamodb, s.users_table, self.notices_outbox),
            payments=self.payments,
            passkeys=DynamoPasskeys(self.dynamodb, s.users_table),
            trail=self.audit_trail,
            cleanup=DeletionCleanup(**self.deletion_cleanup_adapters, flows=self.any_flow),
            step_up=self.step_up,
            audit=self.flow_audit,
            clock=self.clock,
            pepper=self.hash_pepper,
            occasion=occasion,
            email_notices=EmailNotices(self.emails, s.notice_service_name),
        )

    @cached_property
    def deletion_cleanup_adapters(self) -> dict[str, Any]:
        """What flows/account_deletion.py's `finish_deletions` (and the request's cleanup)
        take: the markers (USERS_TABLE's `deletions-pending` index), the payments
        (PAYMENTS_TABLE), the audit scrub (AUDIT_TABLE) and the clock. A scheduled function
        calls `finish_deletions(**runtime.deletion_cleanup_adapters)`."""
        from phoneverify.adapters.dynamo.deletion_cleanup import (
            DynamoAuditScrub,
            DynamoDeletionMarkers,
        )

        s = self.settings
        return {
            "markers": DynamoDeletionMarkers(self.dynamodb, s.users_table),
            "payments": self.payments,
            "scrub": DynamoAuditScrub(self.dynamodb, s.audit_table),
            "clock": self.clock,
        }
