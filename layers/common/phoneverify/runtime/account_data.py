"""The person's own data (docs/privacy.md): the export and the deletion, built only by
functions whose settings are an AccountDataSettings."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from phoneverify.runtime.passkeys import Passkeys

if TYPE_CHECKING:
    from phoneverify.flows.account_data import AccountData


class AccountDataRoutes(Passkeys):
    @cached_property
    def account_data(self) -> AccountData:
        from phoneverify.account_data_config import AccountDataSettings
        from phoneverify.adapters.dynamo.account_deletion import DynamoAccountDeletion
        from phoneverify.adapters.dynamo.passkeys import DynamoPasskeys
        from phoneverify.flows.account_data import AccountData
        from phoneverify.flows.engine.email_notices import EmailNotices

        s = self.settings_as(AccountDataSettings)
        return AccountData(
            users=self.users,
            deletion=DynamoAccountDeletion(self.dynamodb, s.users_table),
            payments=self.payments,
            passkeys=DynamoPasskeys(self.dynamodb, s.users_table),
            trail=self.audit_trail,
            flows=self.any_flow,
            step_up=self.step_up,
            audit=self.flow_audit,
            clock=self.clock,
            pepper=self.hash_pepper,
            notices=self.notices,
            email_notices=EmailNotices(self.emails, s.notice_service_name),
        )
