"""The DynamoDB adapters that hold the service's records (accounts, flows, the audit trail,
ended tokens, live-status connections) and the events pipeline over the audit trail. The
guards' tables are in guards.py, the payments' in payments.py."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from phoneverify.config import TokenSettings
from phoneverify.runtime.clients import Clients

if TYPE_CHECKING:
    from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
    from phoneverify.adapters.dynamo.connections import DynamoWatcherRegistry
    from phoneverify.adapters.dynamo.factors import DynamoAccountFactors
    from phoneverify.adapters.dynamo.revocations import DynamoTokenRevocations
    from phoneverify.adapters.dynamo.users import DynamoUserRepository
    from phoneverify.adapters.dynamo.verifications import DynamoVerificationStore
    from phoneverify.ports.verifications import VerificationEvents


class Stores(Clients):
    @cached_property
    def users(self) -> DynamoUserRepository:
        from phoneverify.adapters.dynamo.users import DynamoUserRepository

        return DynamoUserRepository(self.dynamodb, self.settings.users_table)

    @cached_property
    def account_factors(self) -> DynamoAccountFactors:
        """The stronger factors on the account's item (docs/factors.md)."""
        from phoneverify.adapters.dynamo.factors import DynamoAccountFactors

        return DynamoAccountFactors(self.dynamodb, self.settings.users_table)

    @cached_property
    def verifications(self) -> DynamoVerificationStore:
        from phoneverify.adapters.dynamo.verifications import DynamoVerificationStore

        s = self.settings
        return DynamoVerificationStore(self.dynamodb, s.verifications_table, s.users_table)

    @cached_property
    def audit_trail(self) -> DynamoAuditTrail:
        from phoneverify.adapters.dynamo.audit import DynamoAuditTrail

        s = self.settings
        return DynamoAuditTrail(self.dynamodb, s.audit_table, s.audit_retention_days * 86_400)

    @cached_property
    def events(self) -> VerificationEvents:
        from phoneverify.adapters.event_log import (
            EventFanout,
            KeyedSubjects,
            LoggedVerificationEvents,
        )

        pepper_param = self.settings.hash_pepper_param
        return KeyedSubjects(
            EventFanout(LoggedVerificationEvents(self.metrics), self.audit_trail),
            pepper=lambda: self.secrets.get(pepper_param).encode("utf-8"),
        )

    # -- bearer tokens (docs/sessions.md): the functions that check or end them -------------
    @cached_property
    def revocations(self) -> DynamoTokenRevocations:
        from phoneverify.adapters.dynamo.revocations import DynamoTokenRevocations

        s = self.settings_as(TokenSettings)
        return DynamoTokenRevocations(
            self.dynamodb, s.users_table, s.revoked_tokens_table, self.clock
        )

    # -- live status (docs/realtime.md): the WebSocket functions and the ones that push -----
    @cached_property
    def watchers(self) -> DynamoWatcherRegistry:
        from phoneverify.adapters.dynamo.connections import DynamoWatcherRegistry
        from phoneverify.live_status_config import LiveStatusSettings

        table = self.settings_as(LiveStatusSettings).connections_table
        return DynamoWatcherRegistry(self.dynamodb, table)
