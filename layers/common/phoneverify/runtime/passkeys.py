"""The passkeys' wiring (docs/factors.md#passkeys): only the functions whose settings are a
PasskeySettings (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS) build these, and only they carry the
`webauthn` library (their own requirements.txt): the ceremony, the credentials in UsersTable,
the challenges in VerificationsTable, the registry behind the step-up, the assertions."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from phoneverify.passkey_config import PasskeySettings
from phoneverify.runtime.payments import Payments

if TYPE_CHECKING:
    from phoneverify.adapters.dynamo.passkeys import DynamoPasskeyChallenges, DynamoPasskeys
    from phoneverify.flows.engine.passkey_assertion import PasskeyAssertions
    from phoneverify.flows.passkey_step import PasskeyStep
    from phoneverify.flows.passkeys import PasskeyRegistry
    from phoneverify.flows.payment_passkey import PaymentPasskey
    from phoneverify.ports.passkeys import WebAuthnCeremony


class Passkeys(Payments):
    @cached_property
    def webauthn(self) -> WebAuthnCeremony:
        from phoneverify.adapters.webauthn_ceremony import LibraryWebAuthn

        s = self.settings_as(PasskeySettings)
        return LibraryWebAuthn(
            rp_id=s.webauthn_rp_id,
            rp_name=s.webauthn_rp_name,
            origins=s.webauthn_origins,
            timeout_secs=s.webauthn_timeout_secs,
        )

    @cached_property
    def passkey_store(self) -> DynamoPasskeys:
        from phoneverify.adapters.dynamo.passkeys import DynamoPasskeys

        return DynamoPasskeys(self.dynamodb, self.settings.users_table)

    @cached_property
    def passkey_challenges(self) -> DynamoPasskeyChallenges:
        from phoneverify.adapters.dynamo.passkeys import DynamoPasskeyChallenges

        return DynamoPasskeyChallenges(self.dynamodb, self.settings.verifications_table)

    @cached_property
    def passkey_registry(self) -> PasskeyRegistry:
        from phoneverify.flows.passkeys import PasskeyRegistry

        return PasskeyRegistry(
            users=self.users,
            passkeys=self.passkey_store,
            challenges=self.passkey_challenges,
            ceremony=self.webauthn,
            step_up=self.step_up,
            audit=self.flow_audit,
            notices=self.notices,
            clock=self.clock,
            timeout_secs=self.settings_as(PasskeySettings).webauthn_timeout_secs,
            # The first stronger factor's recovery codes (docs/factors.md#recovery-codes).
            factors=self.account_factors,
            pepper=self.hash_pepper,
            email_notices=self.removal_email_notices(),
        )

    @cached_property
    def passkey_assertions(self) -> PasskeyAssertions:
        from phoneverify.flows.engine.passkey_assertion import PasskeyAssertions

        return PasskeyAssertions(
            passkeys=self.passkey_store,
            challenges=self.passkey_challenges,
            ceremony=self.webauthn,
            audit=self.flow_audit,
            clock=self.clock,
            timeout_secs=self.settings_as(PasskeySettings).webauthn_timeout_secs,
        )

    def passkey_step(self) -> PasskeyStep | None:
        """A passkey as a login's, a step-up's or a reset's second step: only where the
        function's settings are a PasskeySettings (it carries the library)."""
        if not isinstance(self.settings, PasskeySettings):
            return None
        return self._passkey_step

    @cached_property
    def _passkey_step(self) -> PasskeyStep:
        from phoneverify.flows.passkey_step import PasskeyStep

        return PasskeyStep(self.passkey_assertions)

    @cached_property
    def payment_passkey(self) -> PaymentPasskey:
        from phoneverify.config import PaymentRecordSettings
        from phoneverify.flows.payment_passkey import PaymentPasskey

        payments = self.payments if isinstance(self.settings, PaymentRecordSettings) else None
        return PaymentPasskey(assertions=self.passkey_assertions, payments=payments)
