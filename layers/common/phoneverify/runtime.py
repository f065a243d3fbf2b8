"""Composition root: builds the real adapters once per execution environment.

Nothing talks to AWS or Telnyx at import time; each adapter is built on first use and then
reused by warm invocations. Each builder imports what it builds, so a function loads only the
adapters and flows it uses (the authorizer never loads httpx or the payment flow). Tests build
flows with fakes instead of using this module.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from phoneverify.config import (
    CodeSettings,
    ConfigurationError,
    GateSettings,
    LiveStatusSettings,
    PaymentInitiateSettings,
    PaymentRecordSettings,
    PaymentSettings,
    Settings,
    TokenSettings,
    WebhookSettings,
)

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from phoneverify.adapters.dynamo.account_lock import DynamoFailureCounter
    from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
    from phoneverify.adapters.dynamo.connections import DynamoWatcherRegistry
    from phoneverify.adapters.dynamo.exempt_payments import DynamoExemptPayments
    from phoneverify.adapters.dynamo.fraud_guard import DynamoFraudGuard
    from phoneverify.adapters.dynamo.idempotency import PowertoolsIdempotentRequests
    from phoneverify.adapters.dynamo.ledger import LedgerPaymentProcessor
    from phoneverify.adapters.dynamo.password_throttle import DynamoPasswordThrottle
    from phoneverify.adapters.dynamo.payments import DynamoPaymentRepository
    from phoneverify.adapters.dynamo.revocations import DynamoTokenRevocations
    from phoneverify.adapters.dynamo.send_limits import DynamoSendLimits
    from phoneverify.adapters.dynamo.users import DynamoUserRepository
    from phoneverify.adapters.dynamo.verifications import DynamoVerificationStore
    from phoneverify.adapters.ssm import SecretSource
    from phoneverify.adapters.telnyx.client import TelnyxVerifyClient
    from phoneverify.adapters.telnyx.sender import TelnyxCodeSender
    from phoneverify.adapters.websocket import ApiGatewayStatusPush
    from phoneverify.domain.channels import ChannelPolicy
    from phoneverify.domain.clock import Clock
    from phoneverify.domain.models import FlowKind, NoticeEvent
    from phoneverify.domain.passwords import PasswordHasher
    from phoneverify.domain.phones import PhonePolicy
    from phoneverify.domain.rates import RateTable
    from phoneverify.domain.tokens import AccessTokenIssuer
    from phoneverify.flows.any_flow import AnyFlow
    from phoneverify.flows.challenges import ChallengePolicy, Challenges
    from phoneverify.flows.delivery_reports import WebhookReceiver
    from phoneverify.flows.gate import ProofOfWorkGate
    from phoneverify.flows.live_status import LiveStatus
    from phoneverify.flows.login import LoginFlow
    from phoneverify.flows.password_reset import PasswordResetFlow
    from phoneverify.flows.payment import PaymentFlow
    from phoneverify.flows.payment_status import PaymentVerificationStatus
    from phoneverify.flows.phone_change import PhoneChangeFlow
    from phoneverify.flows.registration import RegistrationFlow
    from phoneverify.flows.sessions import Sessions
    from phoneverify.ports.abuse import HumanCheck
    from phoneverify.ports.messaging import AccountNotices
    from phoneverify.ports.payments import RateSource
    from phoneverify.ports.verifications import VerificationEvents
else:
    DynamoDBClient = Any

S = TypeVar("S", bound=Settings)


class _NoRates:
    """The rate source of the payment functions that never count a payment without a code."""

    def __init__(self, table: RateTable) -> None:
        self._table = table

    def current(self) -> RateTable:
        return self._table


class _DeferredNotices:
    """AccountNotices that builds the real ones on the first notice."""

    def __init__(self, build: Callable[[], AccountNotices]) -> None:
        self._build = build

    def notify(self, phone: str, event: NoticeEvent) -> None:
        self._build().notify(phone, event)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        secrets: SecretSource | None = None,
        dynamodb: DynamoDBClient | None = None,
    ) -> None:
        from phoneverify.domain.clock import SystemClock

        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._secrets = secrets
        self._dynamodb = dynamodb

    @classmethod
    def from_environment(cls, settings_type: type[Settings] = Settings) -> Runtime:
        """Validate the function's environment as `settings_type` (the settings this function
        needs, config.py); an incomplete one fails the cold start naming what is missing."""
        return cls(settings_type.from_env(os.environ))

    def settings_as(self, kind: type[S]) -> S:
        """The function's settings as `kind`, which a builder needs. A function declared with
        settings that lack it fails as its cold start would have, naming the variables."""
        if isinstance(self.settings, kind):
            return self.settings
        missing = sorted(set(kind.model_fields) - set(type(self.settings).model_fields))
        problems = "; ".join(f"{name.upper()}: Field required" for name in missing)
        raise ConfigurationError(f"invalid function environment: {problems}")

    def request_scope(self) -> AbstractContextManager[None]:
        """What lasts one invocation (every handler opens it: http/app.py, the authorizer): the
        best-effort DynamoDB writes it makes (audit records, a wrong-code count's reset),
        collected and written in one call when it ends, answer or error
        (adapters/dynamo/write_buffer.py)."""
        from phoneverify.adapters.dynamo.write_buffer import deferred_writes

        return deferred_writes()

    @cached_property
    def metrics(self) -> Metrics:
        from aws_lambda_powertools import Metrics

        return Metrics()

    @cached_property
    def secrets(self) -> SecretSource:
        from phoneverify.adapters.ssm import SsmSecrets

        return self._secrets or SsmSecrets(max_age=self.settings.secrets_max_age_secs)

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        import boto3
        from botocore.config import Config

        # Short timeouts and standard retries: a slow table answers 503 well inside the
        # function's timeout.
        config = Config(
            connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
        )
        return self._dynamodb or boto3.client("dynamodb", config=config)

    @cached_property
    def telnyx(self) -> TelnyxVerifyClient:
        from phoneverify.adapters.telnyx.client import TelnyxVerifyClient

        s = self.settings
        return TelnyxVerifyClient(
            s.telnyx_api_base_url,
            api_key=lambda: self.secrets.get(s.telnyx_api_key_param),
            timeout_secs=s.telnyx_timeout_secs,
        )

    def code_sender(self, timeout_secs: int) -> TelnyxCodeSender:
        """Telnyx must accept a code for as long as its flow waits for it."""
        from phoneverify.adapters.telnyx.sender import TelnyxCodeSender

        profile_param = self.settings.telnyx_verify_profile_id_param
        return TelnyxCodeSender(
            self.telnyx,
            verify_profile_id=lambda: self.secrets.get(profile_param),
            timeout_secs=timeout_secs,
        )

    @cached_property
    def users(self) -> DynamoUserRepository:
        from phoneverify.adapters.dynamo.users import DynamoUserRepository

        return DynamoUserRepository(self.dynamodb, self.settings.users_table)

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

    @cached_property
    def passwords(self) -> PasswordHasher:
        from phoneverify.domain.passwords import PasswordHasher

        return PasswordHasher(cost=self.settings.bcrypt_cost)

    @cached_property
    def tokens(self) -> AccessTokenIssuer:
        from phoneverify.domain.tokens import AccessTokenIssuer

        s = self.settings
        return AccessTokenIssuer(
            lambda: self.secrets.get(s.jwt_signing_secret_param),
            issuer=s.jwt_issuer,
            audience=s.jwt_audience,
            ttl_seconds=s.access_token_ttl_seconds,
            clock=self.clock,
        )

    # -- bearer tokens (docs/sessions.md): the functions that check or end them -------------
    @cached_property
    def revocations(self) -> DynamoTokenRevocations:
        from phoneverify.adapters.dynamo.revocations import DynamoTokenRevocations

        s = self.settings_as(TokenSettings)
        return DynamoTokenRevocations(
            self.dynamodb, s.users_table, s.revoked_tokens_table, self.clock
        )

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

    def _deferred_notices(self) -> AccountNotices:
        self.settings_as(CodeSettings)  # raises ConfigurationError at cold start, as `notices`
        return _DeferredNotices(lambda: self.notices)

    # -- notices (docs/phone-lifecycle.md#notices): SMS to the account's owner -------------
    @cached_property
    def notices(self) -> AccountNotices:
        from phoneverify.adapters.telnyx.messaging import TelnyxMessagingClient
        from phoneverify.adapters.telnyx.notices import TelnyxAccountNotices

        s = self.settings_as(CodeSettings)  # the SMS budget is on RATE_LIMITS_TABLE

        def client() -> TelnyxMessagingClient:
            return TelnyxMessagingClient(
                s.telnyx_api_base_url,
                api_key=lambda: self.secrets.get(s.telnyx_api_key_param),
                timeout_secs=s.notice_timeout_secs,
            )

        return TelnyxAccountNotices(
            client,
            sender=lambda: self.secrets.get(s.telnyx_messaging_sender_param),
            budget=self.send_limits,
            phone_policy=self.phone_policy,
            events=self.events,
            clock=self.clock,
            service_name=s.notice_service_name,
            max_attempts=s.notice_max_attempts,
        )

    # -- abuse controls (docs/abuse-controls.md): every Challenges gets all three ----------
    @cached_property
    def phone_policy(self) -> PhonePolicy:
        from phoneverify.domain.phones import PhonePolicy

        s = self.settings
        return PhonePolicy(frozenset(s.allowed_countries), allow_voip=s.allow_voip_numbers)

    def count_metric(self, name: str) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)

    @cached_property
    def send_limits(self) -> DynamoSendLimits:
        from phoneverify.adapters.dynamo.send_limits import DynamoSendLimits
        from phoneverify.domain.send_limits import SendCaps
        from phoneverify.domain.tiers import SendTier

        s = self.settings_as(CodeSettings)
        shares = {
            SendTier.VERIFIED: s.sms_share_verified_percent,
            SendTier.RESET: s.sms_share_reset_percent,
            SendTier.UNPROVEN: s.sms_share_unproven_percent,
        }
        caps = SendCaps(
            shares=shares,
            notice_reserve_percent=s.notice_reserve_percent,
            challenge_risk_percent=s.challenge_risk_percent,
            per_phone=s.max_sends_per_phone,
            per_ip=s.max_sends_per_ip,
            per_account=s.max_sends_per_account,
            budget=s.sms_budget,
            window_secs=s.send_limit_window_secs,
            notices_per_phone=s.max_notices_per_phone,
            calls_per_phone=s.max_calls_per_phone,
            call_budget=s.call_budget,
            budget_shards=s.sms_budget_shards,
        )
        return DynamoSendLimits(
            self.dynamodb,
            s.rate_limits_table,
            caps,
            self.clock,
            self.count_metric,
            users_table=s.users_table,
            failures=self.failure_counter,
            fraud=self.fraud_guard,
        )

    @cached_property
    def fraud_guard(self) -> DynamoFraudGuard:
        from phoneverify.adapters.dynamo.fraud_guard import DynamoFraudGuard
        from phoneverify.domain.fraud import FraudPolicy

        s = self.settings_as(CodeSettings)
        policy = FraudPolicy(
            digits_dropped=s.prefix_digits_dropped,
            min_codes=s.prefix_min_codes,
            min_conversion_percent=s.prefix_min_conversion_percent,
            window_secs=s.prefix_window_secs,
            hold_secs=s.prefix_hold_secs,
            country_min_prefixes=s.country_hold_min_prefixes,
        )
        return DynamoFraudGuard(
            self.dynamodb,
            s.rate_limits_table,
            policy,
            self.clock,
            rules_max_age_secs=s.fraud_rules_max_age_secs,
            metric=self.count_metric,
        )

    @cached_property
    def failure_counter(self) -> DynamoFailureCounter:
        from phoneverify.adapters.dynamo.account_lock import DynamoFailureCounter

        s = self.settings_as(CodeSettings)
        return DynamoFailureCounter(
            self.dynamodb,
            s.rate_limits_table,
            max_failures=s.max_account_failures,
            lockout_secs=s.account_lockout_secs,
            clock=self.clock,
        )

    @cached_property
    def password_throttle(self) -> DynamoPasswordThrottle:
        from phoneverify.adapters.dynamo.password_throttle import DynamoPasswordThrottle
        from phoneverify.domain.throttling import PasswordThrottlePolicy

        s = self.settings_as(CodeSettings)
        policy = PasswordThrottlePolicy(
            free_failures=s.password_free_failures,
            base_delay_secs=s.password_throttle_base_secs,
            max_delay_secs=s.password_throttle_max_secs,
            failure_memory_secs=s.password_failure_memory_secs,
            per_source=s.max_password_failures_per_ip,
            source_window_secs=s.password_ip_window_secs,
        )
        return DynamoPasswordThrottle(self.dynamodb, s.rate_limits_table, policy, self.clock)

    @cached_property
    def channel_policy(self) -> ChannelPolicy:
        from phoneverify.domain.channels import ChannelPolicy

        s = self.settings
        return ChannelPolicy(
            call_countries=frozenset(s.call_allowed_countries),
            whatsapp_enabled=s.whatsapp_enabled,
            sms_fallback_to_call=s.sms_fallback_to_call,
        )

    def challenges(self, policy: ChallengePolicy) -> Challenges:
        from phoneverify.flows.challenges import Challenges

        return Challenges(
            policy,
            store=self.verifications,
            sender=self.code_sender(policy.timeout_secs),
            events=self.events,
            clock=self.clock,
            guard=self.send_limits,
            failures=self.failure_counter,
            phone_policy=self.phone_policy,
            account_tokens=self.users,
            notices=self.notices,
            channels=self.channel_policy,
            prefixes=self.fraud_guard,
            pepper=self.hash_pepper,
        )

    def hash_pepper(self) -> bytes:
        """The pepper of keyed digests (domain/keyed.py), read from SSM when first needed
        and cached as every secret is (SsmSecrets)."""
        return self.secrets.get(self.settings.hash_pepper_param).encode("utf-8")

    def challenge_policy(
        self, kind: FlowKind, timeout_secs: int, restart_hint: str, too_many_attempts: str
    ) -> ChallengePolicy:
        from phoneverify.flows.challenges import ChallengePolicy

        s = self.settings
        return ChallengePolicy(
            kind=kind,
            timeout_secs=timeout_secs,
            code_length=s.verify_code_length,
            max_attempts=s.max_code_attempts,
            resend_cooldown_secs=s.resend_cooldown_secs,
            max_sends=s.max_sends_per_flow,
            send_window_secs=s.send_window_secs,
            retention_secs=s.flow_retention_secs,
            restart_hint=restart_hint,
            too_many_attempts_message=too_many_attempts,
        )

    # -- the proof-of-work gate (docs/abuse-controls.md#the-proof-of-work-gate): the functions
    # with GateSettings (GET /challenge, /register/start, /password/reset/start) ------------
    @cached_property
    def human_check(self) -> HumanCheck:
        from phoneverify.adapters.dynamo.spent_proofs import DynamoSpentProofs
        from phoneverify.adapters.proof_of_work import AltchaHumanCheck

        s = self.settings_as(GateSettings)
        key_param = s.altcha_hmac_key_param
        return AltchaHumanCheck(
            lambda: self.secrets.get(key_param),
            DynamoSpentProofs(self.dynamodb, s.rate_limits_table),
            self.clock,
            max_number=s.challenge_max_number,
            expires_secs=s.challenge_expires_secs,
        )

    @cached_property
    def pow_gate(self) -> ProofOfWorkGate:
        from phoneverify.flows.gate import GateMode, ProofOfWorkGate

        return ProofOfWorkGate(
            GateMode(self.settings.challenge_mode), self.human_check, self.events, self.clock
        )

    def _gate_of_starts(self) -> ProofOfWorkGate | None:
        """The gate a flow's `start` passes through: only the functions that start one
        (GateSettings) build it; the same flow's verify and resend never call `start`."""
        return self.pow_gate if isinstance(self.settings, GateSettings) else None

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
            tokens=self.tokens,
            throttle=self.password_throttle,
            # Only /login (GateSettings) checks solutions: a source over its failure cap.
            proof_of_work=self._gate_of_starts(),
        )

    @cached_property
    def password_reset_flow(self) -> PasswordResetFlow:
        import phonenumbers

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
            throttle=self.password_throttle,
            clock=self.clock,
            pepper=self.hash_pepper,
            decoy_calling_code=phonenumbers.country_code_for_region(s.default_phone_region),
            notices=self.notices,
            gate=self._gate_of_starts(),
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
            throttle=self.password_throttle,
            notices=self.notices,
            clock=self.clock,
            default_phone_region=s.default_phone_region,
            phone_policy=self.phone_policy,
        )

    @cached_property
    def any_flow(self) -> AnyFlow:
        """Cancel, status and delivery reports: a flow of any kind, by flow id."""
        from phoneverify.flows.any_flow import AnyFlow

        # A function that may push (LiveStatusSettings: /verify/cancel) tells a cancelled
        # flow's live-status connections; the others (status, payments) never build it.
        watching = isinstance(self.settings, LiveStatusSettings)
        return AnyFlow(
            store=self.verifications,
            events=self.events,
            clock=self.clock,
            observer=self.live_status if watching else None,
        )

    # -- live status (docs/realtime.md): the WebSocket functions and the webhook function --
    @cached_property
    def watchers(self) -> DynamoWatcherRegistry:
        from phoneverify.adapters.dynamo.connections import DynamoWatcherRegistry

        table = self.settings_as(LiveStatusSettings).connections_table
        return DynamoWatcherRegistry(self.dynamodb, table)

    @cached_property
    def status_push(self) -> ApiGatewayStatusPush:
        import boto3
        from botocore.config import Config

        from phoneverify.adapters.websocket import ApiGatewayStatusPush

        s = self.settings_as(LiveStatusSettings)
        # One quick retry at most: a push is news, not state, and must not hold a webhook.
        config = Config(
            connect_timeout=s.websocket_push_timeout_secs,
            read_timeout=s.websocket_push_timeout_secs,
            retries={"mode": "standard", "max_attempts": 2},
        )
        return ApiGatewayStatusPush(
            lambda: boto3.client(
                "apigatewaymanagementapi", endpoint_url=s.websocket_management_url, config=config
            )
        )

    @cached_property
    def live_status(self) -> LiveStatus:
        from phoneverify.flows.live_status import LiveStatus, WatchPolicy

        s = self.settings_as(LiveStatusSettings)
        return LiveStatus(
            store=self.verifications,
            registry=self.watchers,
            push=self.status_push,
            clock=self.clock,
            policy=WatchPolicy(max_connections_per_flow=s.max_connections_per_flow),
        )

    # -- Telnyx webhooks: only the webhook function sets TELNYX_PUBLIC_KEY_PARAM and its table
    @cached_property
    def telnyx_webhooks(self) -> WebhookReceiver:
        # Imported here: only this function needs cryptography at cold start.
        from phoneverify.adapters.dynamo.webhook_events import DynamoWebhookEventLedger
        from phoneverify.adapters.telnyx.webhooks import SignatureVerifier
        from phoneverify.flows.any_flow import AnyFlow
        from phoneverify.flows.delivery_reports import WebhookReceiver

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
            # Each delivery report recorded is pushed to the flow's live-status connections.
            flows=AnyFlow(
                store=self.verifications,
                events=self.events,
                clock=self.clock,
                observer=self.live_status,
            ),
            clock=self.clock,
        )

    @cached_property
    def registration_flow(self) -> RegistrationFlow:
        from phoneverify.domain.models import FlowKind
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
            tokens=self.tokens,
            clock=self.clock,
            default_phone_region=s.default_phone_region,
            phone_policy=self.phone_policy,
            gate=self._gate_of_starts(),
        )

    # -- payments: only the payment functions set PAYMENTS_TABLE and friends ----------------
    @cached_property
    def payments(self) -> DynamoPaymentRepository:
        from phoneverify.adapters.dynamo.payments import DynamoPaymentRepository

        return DynamoPaymentRepository(
            self.dynamodb, self.settings_as(PaymentRecordSettings).payments_table
        )

    @cached_property
    def exempt_payments(self) -> DynamoExemptPayments:
        from phoneverify.adapters.dynamo.exempt_payments import DynamoExemptPayments

        table = self.settings_as(PaymentSettings).payments_table
        # The account lock rides in the count's transaction, as in the send limits'.
        return DynamoExemptPayments(self.dynamodb, table, self.failure_counter)

    @cached_property
    def payment_processor(self) -> LedgerPaymentProcessor:
        from phoneverify.adapters.dynamo.ledger import LedgerPaymentProcessor

        table = self.settings_as(PaymentSettings).ledger_table
        return LedgerPaymentProcessor(self.dynamodb, table, self.clock)

    @cached_property
    def idempotency(self) -> PowertoolsIdempotentRequests:
        from phoneverify.adapters.dynamo.idempotency import PowertoolsIdempotentRequests

        s = self.settings_as(PaymentSettings)
        return PowertoolsIdempotentRequests(
            self.dynamodb, s.idempotency_table, s.idempotency_ttl_secs
        )

    @cached_property
    def rates(self) -> RateSource:
        """The operators' exchange rates (only POST /payments/initiate reads them: the other
        payment functions never count a payment without a code, and get an empty table)."""
        from phoneverify.adapters.fx_rates import SsmRateSource
        from phoneverify.domain.rates import RateTable

        s = self.settings
        if not isinstance(s, PaymentInitiateSettings):
            return _NoRates(RateTable())
        return SsmRateSource(
            self.secrets,
            s.fx_rates_param,
            s.payment_reference_currency,
            self.clock,
            max_age_secs=s.fx_rates_max_age_days * 86_400,
            metric=self.count_metric,
        )

    @cached_property
    def payment_flow(self) -> PaymentFlow:
        from phoneverify.domain.models import FlowKind
        from phoneverify.domain.money import ExemptionLimits, Thresholds
        from phoneverify.flows.payment import RESTART_HINT as PAYMENT_RESTART_HINT
        from phoneverify.flows.payment import TOO_MANY_ATTEMPTS as PAYMENT_TOO_MANY_ATTEMPTS
        from phoneverify.flows.payment import PaymentFlow

        s = self.settings_as(PaymentSettings)
        policy = self.challenge_policy(
            FlowKind.PAYMENT,
            s.payment_timeout_secs,
            PAYMENT_RESTART_HINT,
            PAYMENT_TOO_MANY_ATTEMPTS,
        )
        thresholds = Thresholds.from_config(s.payment_thresholds, s.payment_default_threshold)
        reference = (
            s.payment_reference_currency if isinstance(s, PaymentInitiateSettings) else "USD"
        )
        return PaymentFlow(
            thresholds=thresholds,
            exemption_limits=ExemptionLimits.from_config(
                s.payment_cumulative_limits if isinstance(s, PaymentInitiateSettings) else {},
                s.payment_max_exempt_payments,
                reference=reference,
                thresholds=thresholds,
            ),
            users=self.users,
            payments=self.payments,
            exemptions=self.exempt_payments,
            processor=self.payment_processor,
            challenges=self.challenges(policy),
            idempotency=self.idempotency,
            clock=self.clock,
            rates=self.rates,
        )

    @cached_property
    def payment_status(self) -> PaymentVerificationStatus:
        """GET /verify/status?payment_id=: the payment, then its flow; nothing else is built."""
        from phoneverify.flows.payment_status import PaymentVerificationStatus

        return PaymentVerificationStatus(
            payments=self.payments, flows=self.any_flow, clock=self.clock
        )
