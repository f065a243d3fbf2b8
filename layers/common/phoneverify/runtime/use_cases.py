"""The use cases' wiring: sessions (the authorizer, /logout), login, sign-up, the password
reset, the phone change, fresh authentication and the Telnyx webhook receiver, each over the
engine (engine.py) and the collaborators it uses itself (the audit of its own decisions, the
users, the tokens).
Payments are wired in payments.py."""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING

from phoneverify.runtime.engine import Engine

if TYPE_CHECKING:
    from phoneverify.flows.account import AccountView
    from phoneverify.flows.delivery_reports import WebhookReceiver
    from phoneverify.flows.email_change import EmailChangeFlow
    from phoneverify.flows.factor_checks import FactorChecks
    from phoneverify.flows.login import LoginFlow
    from phoneverify.flows.lost_phone import LostPhoneFlow
    from phoneverify.flows.passkey_step import PasskeyStep
    from phoneverify.flows.password_reset import PasswordResetFlow
    from phoneverify.flows.phone_change import PhoneChangeFlow
    from phoneverify.flows.reauth import ReauthFlow
    from phoneverify.flows.registration import RegistrationFlow
    from phoneverify.flows.sessions import Sessions
    from phoneverify.flows.totp import TotpFactor
    from phoneverify.ports.factors import Encryption


class UseCases(Engine):
    # -- bearer tokens (docs/sessions.md) --------------------------------------------------
    @cached_property
    def sessions(self) -> Sessions:
        from phoneverify.flows.sessions import Sessions

        return Sessions(
            tokens=self.tokens, revocations=self.revocations, events=self.events, clock=self.clock
        )

    @cached_property
    def logout_sessions(self) -> Sessions:
        """/logout: `sessions`, plus the notice a logout of every session sends."""
        from phoneverify.flows.sessions import Sessions

        return Sessions(
            tokens=self.tokens,
            revocations=self.revocations,
            events=self.events,
            clock=self.clock,
            # Built at the first notice: only a logout of every session loads the Telnyx
            # client. Its settings are checked now, all the same.
            notices=self._deferred_notices(),
        )

    @cached_property
    def account_view(self) -> AccountView:
        from phoneverify.flows.account import AccountView

        return AccountView(self.users)

    # -- the flows that send codes -----------------------------------------------------------
    @cached_property
    def login_flow(self) -> LoginFlow:
        from phoneverify.domain.models import FlowKind
        from phoneverify.flows.login import LoginFlow

        policy = self.challenge_policy(
            FlowKind.LOGIN,
            self.settings.login_timeout_secs,
            "Start login again.",
            "Too many attempts. Please start the login process again.",
        )
        return LoginFlow(
            users=self.users,
            passwords=self.passwords,
            challenges=self.challenges(policy),
            audit=self.flow_audit,
            tokens=self.tokens,
            throttle=self.password_throttle,
            # Only /login (GateSettings) checks solutions: a source over its failure cap.
            proof_of_work=self._gate_of_starts(),
            # Only /login/verify (LoginVerifySettings) checks an app's or a recovery code.
            factor_checks=self.factor_checks if self._reads_factors else None,
            notices=self.notices if self._reads_factors else None,
            # Only /login/verify (SecondStepSettings) checks a passkey and serves its options.
            passkey_step=self.passkey_step(),
            # Only /login/verify: a login by a recovery code is a fresh authentication.
            step_up=self.step_up if self._reads_factors else None,
        )

    def passkey_step(self) -> PasskeyStep | None:
        """A passkey as a second step (runtime/passkeys.py builds one where the function's
        settings are a PasskeySettings: it carries the `webauthn` library); None here."""
        return None

    @property
    def _reads_factors(self) -> bool:
        from phoneverify.factor_config import FactorSettings

        return isinstance(self.settings, FactorSettings)

    # -- stronger factors (docs/factors.md): FactorSettings ---------------------------------
    @cached_property
    def factor_encryption(self) -> Encryption:
        """KMS where FACTOR_KEY_ID names a key; else the local key from SSM."""
        from phoneverify.adapters.encryption import KmsEncryption, SsmKeyEncryption
        from phoneverify.factor_config import FactorSettings

        s = self.settings_as(FactorSettings)
        if s.factor_key_id:
            # Short timeouts, standard retries: a slow KMS answers 503 within the timeout.
            return KmsEncryption(self.quick_client("kms", 3.0)(), s.factor_key_id)
        return SsmKeyEncryption(self.secrets, s.factor_key_param)

    @cached_property
    def factor_checks(self) -> FactorChecks:
        from phoneverify.flows.factor_checks import FactorChecks

        return FactorChecks(
            factors=self.account_factors,
            encryption=self.factor_encryption,
            clock=self.clock,
            audit=self.flow_audit,
            pepper=self.hash_pepper,
        )

    @cached_property
    def totp_factor(self) -> TotpFactor:
        from phoneverify.domain.models import FlowKind
        from phoneverify.flows import totp
        from phoneverify.flows.totp import TotpFactor

        policy = self.challenge_policy(
            FlowKind.TOTP_ENROL,
            self.settings.login_timeout_secs,
            totp.RESTART_HINT,
            totp.TOO_MANY_ATTEMPTS,
        )
        return TotpFactor(
            users=self.users,
            factors=self.account_factors,
            encryption=self.factor_encryption,
            challenges=self.challenges(policy),
            step_up=self.step_up,
            audit=self.flow_audit,
            clock=self.clock,
            pepper=self.hash_pepper,
            notices=self.notices,
            email_notices=self.removal_email_notices(),
        )

    @cached_property
    def registration_flow(self) -> RegistrationFlow:
        from phoneverify.domain.email_messages import CodePurpose
        from phoneverify.domain.models import FlowKind
        from phoneverify.flows.engine.email_proof import EmailProof
        from phoneverify.flows.registration import RESTART_HINT as REGISTRATION_RESTART_HINT
        from phoneverify.flows.registration import (
            TOO_MANY_ATTEMPTS as REGISTRATION_TOO_MANY_ATTEMPTS,
        )
        from phoneverify.flows.registration import RegistrationFlow

        s = self.settings
        policy = replace(
            self.challenge_policy(
                FlowKind.REGISTRATION,
                s.registration_timeout_secs,
                REGISTRATION_RESTART_HINT,
                REGISTRATION_TOO_MANY_ATTEMPTS,
            ),
            # The pending password hash lives no longer than the code: no resend after expiry.
            retention_secs=0,
            # A fresh random subject per registration: no account counter to read or reset.
            account_lock_applies=False,
        )
        return RegistrationFlow(
            users=self.users,
            passwords=self.passwords,
            challenges=self.challenges(policy),
            # The email code lives as long as the SMS code it rides beside.
            email=EmailProof(
                self.email_send_guard,
                self.email_proof_sender(CodePurpose.SIGN_UP, s.registration_timeout_secs),
            ),
            tokens=self.tokens,
            clock=self.clock,
            default_phone_region=s.default_phone_region,
            phone_policy=self.phone_policy,
            gate=self._gate_of_starts(),
        )

    @cached_property
    def password_reset_flow(self) -> PasswordResetFlow:

        from phoneverify.domain.models import FlowKind
        from phoneverify.flows import password_reset
        from phoneverify.flows.password_reset import PasswordResetFlow

        s = self.settings
        policy = replace(
            self.challenge_policy(
                FlowKind.PASSWORD_RESET,
                s.password_reset_timeout_secs,
                password_reset.RESTART_HINT,
                password_reset.TOO_MANY_ATTEMPTS,
            ),
            account_lock_applies=False,
            counts_toward_lock=True,
            conceals_account=True,
        )
        return PasswordResetFlow(
            users=self.users,
            passwords=self.passwords,
            challenges=self.challenges(policy),
            audit=self.flow_audit,
            throttle=self.password_throttle,
            clock=self.clock,
            pepper=self.hash_pepper,
            notices=self.notices,
            gate=self._gate_of_starts(),
            factor_checks=self.factor_checks if self._reads_factors else None,
            passkey_step=self.passkey_step(),
        )

    @cached_property
    def phone_change_flow(self) -> PhoneChangeFlow:
        from phoneverify.domain.models import FlowKind
        from phoneverify.flows import phone_change
        from phoneverify.flows.phone_change import PhoneChangeFlow

        s = self.settings
        policy = self.challenge_policy(
            FlowKind.PHONE_CHANGE,
            s.phone_change_timeout_secs,
            phone_change.RESTART_HINT,
            phone_change.TOO_MANY_ATTEMPTS,
        )
        return PhoneChangeFlow(
            users=self.users,
            passwords=self.passwords,
            challenges=self.challenges(policy),
            audit=self.flow_audit,
            throttle=self.password_throttle,
            notices=self.notices,
            clock=self.clock,
            step_up=self.step_up,
            tokens=self.tokens,
            default_phone_region=s.default_phone_region,
            phone_policy=self.phone_policy,
        )

    @cached_property
    def email_change_flow(self) -> EmailChangeFlow:
        """The account's email (EmailSettings): a code we make, sent through SES."""
        from phoneverify.adapters.dynamo.account_emails import DynamoAccountEmails
        from phoneverify.domain.email_messages import CodePurpose
        from phoneverify.domain.models import FlowKind
        from phoneverify.email_config import EmailSettings
        from phoneverify.flows import email_change
        from phoneverify.flows.email_change import EmailChangeFlow

        s = self.settings_as(EmailSettings)
        # Signed in, the step-up passed: wrong codes count towards the account's lock, as the
        # phone change's do.
        policy = self.challenge_policy(
            FlowKind.EMAIL_CHANGE,
            s.email_code_timeout_secs,
            email_change.RESTART_HINT,
            email_change.TOO_MANY_ATTEMPTS,
        )
        timeout = s.email_code_timeout_secs
        return EmailChangeFlow(
            users=DynamoAccountEmails(self.dynamodb, s.users_table),
            change=self.email_challenges(
                policy, self.email_proof_sender(CodePurpose.EMAIL_CHANGE, timeout)
            ),
            prove=self.email_challenges(
                policy, self.email_codes(CodePurpose.EMAIL_CHANGE, timeout)
            ),
            step_up=self.step_up,
            audit=self.flow_audit,
            emails=self.emails,
            clock=self.clock,
            service_name=s.notice_service_name,
        )

    @cached_property
    def reauth_flow(self) -> ReauthFlow:
        from phoneverify.domain.models import FlowKind
        from phoneverify.flows import reauth
        from phoneverify.flows.reauth import ReauthFlow

        policy = self.challenge_policy(
            FlowKind.REAUTH,
            self.settings.login_timeout_secs,
            reauth.RESTART_HINT,
            reauth.TOO_MANY_ATTEMPTS,
        )
        return ReauthFlow(
            users=self.users,
            passwords=self.passwords,
            challenges=self.challenges(policy),
            audit=self.flow_audit,
            throttle=self.password_throttle,
            step_up=self.step_up,
            # Only /account/reauth/verify reads an app's secret and checks a passkey.
            factor_checks=self.factor_checks if self._reads_factors else None,
            passkey_step=self.passkey_step(),
        )

    @cached_property
    def lost_phone_flow(self) -> LostPhoneFlow:
        """The password reset's "I no longer have this phone" (PhoneSwapSettings): a code by
        email (our own, through SES), then the new number's by Telnyx Verify."""

        from phoneverify.adapters.dynamo.phone_swaps import DynamoPhoneSwaps
        from phoneverify.domain.email_messages import CodePurpose
        from phoneverify.domain.lifecycle.phone_swap import PhoneSwapRule
        from phoneverify.domain.models import FlowKind
        from phoneverify.flows import lost_phone
        from phoneverify.flows.lost_phone import LostPhoneFlow
        from phoneverify.lost_phone_config import PhoneSwapSettings

        s = self.settings_as(PhoneSwapSettings)
        emails = self.emails
        # As the password reset: the way back into a locked account, its wrong codes counted
        # all the same, answered like its decoys.
        email_policy = self.challenge_policy(
            FlowKind.LOST_PHONE_EMAIL,
            s.lost_phone_email_timeout_secs,
            lost_phone.RESTART_HINT,
            lost_phone.TOO_MANY_ATTEMPTS,
        )
        email_codes = self.email_codes(CodePurpose.LOST_PHONE, s.lost_phone_email_timeout_secs)
        phone_policy = self.challenge_policy(
            FlowKind.LOST_PHONE,
            s.phone_change_timeout_secs,
            lost_phone.RESTART_HINT,
            lost_phone.TOO_MANY_ATTEMPTS,
        )
        return LostPhoneFlow(
            users=self.users,
            swaps=DynamoPhoneSwaps(self.dynamodb, s.users_table),
            passwords=self.passwords,
            email_challenges=self.email_challenges(
                email_policy, email_codes, conceals_account=True
            ),
            # The new number's code: the lock does not hold it either (a recovery), its wrong
            # codes count towards it.
            phone_challenges=self.challenges(
                replace(phone_policy, account_lock_applies=False, counts_toward_lock=True)
            ),
            audit=self.flow_audit,
            throttle=self.password_throttle,
            notices=self.notices,
            emails=emails,
            clock=self.clock,
            pepper=self.hash_pepper,
            rule=PhoneSwapRule(s.lost_phone_wait_secs, s.lost_phone_grace_secs),
            service_name=s.notice_service_name,
            default_phone_region=s.default_phone_region,
            phone_policy=self.phone_policy,
        )

    # -- Telnyx webhooks: only the webhook function sets TELNYX_PUBLIC_KEY_PARAM and its table
    @cached_property
    def telnyx_webhooks(self) -> WebhookReceiver:
        # Imported here: only this function needs cryptography at cold start.
        from phoneverify.adapters.dynamo.webhook_events import DynamoWebhookEventLedger
        from phoneverify.adapters.telnyx.webhooks import SignatureVerifier
        from phoneverify.flows.delivery_reports import WebhookReceiver
        from phoneverify.live_status_config import WebhookSettings

        s = self.settings_as(WebhookSettings)
        public_key_param = s.telnyx_public_key_param
        return WebhookReceiver(
            verifier=SignatureVerifier(lambda: self.secrets.get(public_key_param), self.clock),
            # A report's event id is claimed in the one write that applies it, which also
            # learns the flow's watchers (adapters/dynamo/webhook_events.py).
            ledger=DynamoWebhookEventLedger(
                self.dynamodb,
                s.webhook_events_table,
                s.webhook_event_retention_secs,
                flows=self.verifications,
                connections_table=s.connections_table,
            ),
            # Each delivery report recorded is pushed to the flow's live-status connections
            # (WebhookSettings push live status: the one AnyFlow has the observer).
            flows=self.any_flow,
            audit=self.flow_audit,
            clock=self.clock,
        )
