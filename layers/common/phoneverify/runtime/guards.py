"""The guards in front of a code (docs/abuse-controls.md): the phone and channel policies, the
send limits with the account lock and the fraud guard in their one transaction, the password
throttle, the proof-of-work gate, the notices to an account's owner (kept in the outbox by the
request) and their delivery (which counts in the send limits' SMS budget)."""

from __future__ import annotations

from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from phoneverify.config import CodeSettings, GateSettings
from phoneverify.runtime.stores import Stores

if TYPE_CHECKING:
    from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock
    from phoneverify.adapters.dynamo.email_limits import DynamoEmailLimits
    from phoneverify.adapters.dynamo.fraud_guard import DynamoFraudGuard
    from phoneverify.adapters.dynamo.notices_outbox import DynamoNoticesOutbox
    from phoneverify.adapters.dynamo.password_throttle import DynamoPasswordThrottle
    from phoneverify.adapters.dynamo.send_limits import DynamoSendLimits
    from phoneverify.adapters.ses import SesEmailSender
    from phoneverify.domain.channels import ChannelPolicy
    from phoneverify.domain.models import NoticeEvent
    from phoneverify.domain.phones import PhonePolicy
    from phoneverify.flows.email_events import EmailEvents
    from phoneverify.flows.engine.proof_of_work_gate import ProofOfWorkGate
    from phoneverify.flows.notice_delivery import NoticeDelivery
    from phoneverify.ports.abuse import HumanCheck
    from phoneverify.ports.messaging import AccountNotices


class _DeferredNotices:
    """AccountNotices that builds the real ones on the first notice."""

    def __init__(self, build: Callable[[], AccountNotices]) -> None:
        self._build = build

    def notify(self, phone: str, event: NoticeEvent) -> None:
        self._build().notify(phone, event)


class Guards(Stores):
    # -- the policies every Challenges sends under ------------------------------------------
    @cached_property
    def phone_policy(self) -> PhonePolicy:
        from phoneverify.domain.phones import PhonePolicy

        s = self.settings
        return PhonePolicy(frozenset(s.allowed_countries), allow_voip=s.allow_voip_numbers)

    @cached_property
    def channel_policy(self) -> ChannelPolicy:
        from phoneverify.domain.channels import ChannelPolicy

        s = self.settings
        return ChannelPolicy(
            call_countries=frozenset(s.call_allowed_countries),
            whatsapp_enabled=s.whatsapp_enabled,
            sms_fallback_to_call=s.sms_fallback_to_call,
        )

    # -- the send limits, the account lock and the fraud guard (one transaction) ------------
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
            failures=self.account_locks,
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
    def account_locks(self) -> DynamoAccountLock:
        from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock

        s = self.settings_as(CodeSettings)
        return DynamoAccountLock(
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
        return DynamoPasswordThrottle(
            self.dynamodb, s.rate_limits_table, policy, self.clock, pepper=self.hash_pepper
        )

    # -- the proof-of-work gate (docs/abuse-controls.md#the-proof-of-work-gate): the functions
    # with GateSettings (GET /challenge, /login, /register/start, /password/reset/start) ----
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
        from phoneverify.flows.engine.proof_of_work_gate import GateMode, ProofOfWorkGate

        return ProofOfWorkGate(
            GateMode(self.settings.challenge_mode), self.human_check, self.events, self.clock
        )

    def _gate_of_starts(self) -> ProofOfWorkGate | None:
        """The gate a flow's `start` passes through: only the functions that start one
        (`gates_starts`: GateSettings) build it; the same flow's verify and resend never
        call `start`."""
        return self.pow_gate if self.settings.gates_starts else None

    # -- notices (docs/notices.md): kept in the outbox by the request, delivered by
    # functions/notices_deliver ----------------------------------------------------------
    @cached_property
    def notices_outbox(self) -> DynamoNoticesOutbox:
        from phoneverify.adapters.dynamo.notices_outbox import DynamoNoticesOutbox
        from phoneverify.domain.notices import OutboxPolicy

        s = self.settings_as(CodeSettings)
        policy = OutboxPolicy(give_up_after_secs=s.notice_give_up_after_secs)
        return DynamoNoticesOutbox(self.dynamodb, s.notices_outbox_table, policy)

    @cached_property
    def notices(self) -> AccountNotices:
        import secrets

        from phoneverify.adapters.dynamo.notices_outbox import OutboxAccountNotices

        def occasion() -> str:
            # API Gateway's id of the request being handled (request_scope): a retry of the
            # same request writes the same notice once.
            return self.current_request_id() or secrets.token_hex(16)

        return OutboxAccountNotices(
            self.notices_outbox, events=self.events, clock=self.clock, occasion=occasion
        )

    @cached_property
    def notice_delivery(self) -> NoticeDelivery:
        from phoneverify.adapters.telnyx.messaging import TelnyxMessagingClient
        from phoneverify.adapters.telnyx.notices import TelnyxNoticeSender
        from phoneverify.domain.notices import OutboxPolicy
        from phoneverify.flows.notice_delivery import NoticeDelivery

        s = self.settings_as(CodeSettings)  # the SMS budget is on RATE_LIMITS_TABLE

        def client() -> TelnyxMessagingClient:
            return TelnyxMessagingClient(
                s.telnyx_api_base_url,
                api_key=lambda: self.secrets.get(s.telnyx_api_key_param),
                timeout_secs=s.notice_timeout_secs,
            )

        sender = TelnyxNoticeSender(
            client,
            sender=lambda: self.secrets.get(s.telnyx_messaging_sender_param),
            max_attempts=s.notice_max_attempts,
        )
        return NoticeDelivery(
            outbox=self.notices_outbox,
            budget=self.send_limits,
            sender=sender,
            phone_policy=self.phone_policy,
            events=self.events,
            clock=self.clock,
            service_name=s.notice_service_name,
            policy=OutboxPolicy(give_up_after_secs=s.notice_give_up_after_secs),
        )

    # -- the email channel (docs/email.md): SES, and what each email counts in --------------
    @cached_property
    def emails(self) -> SesEmailSender:
        from phoneverify.adapters.ses import SesEmailSender
        from phoneverify.email_config import EmailSettings

        s = self.settings_as(EmailSettings)
        # AWS_ENDPOINT_URL_SESV2 points it elsewhere (the local stack: the emulator's outbox).
        return SesEmailSender(
            self.quick_client("sesv2", s.email_timeout_secs),
            s.email_sender_address,
            configuration_set=s.email_configuration_set or None,
        )

    @cached_property
    def email_limits(self) -> DynamoEmailLimits:
        from phoneverify.adapters.dynamo.email_limits import DynamoEmailLimits
        from phoneverify.domain.email_limits import EmailCaps
        from phoneverify.email_config import EmailSettings, SuppressionSettings

        s = self.settings
        caps = EmailCaps()
        if isinstance(s, EmailSettings):  # the functions that send; the others only suppress
            caps = EmailCaps(
                per_address=s.max_emails_per_address,
                per_ip=s.max_emails_per_ip,
                budget=s.email_budget,
                window_secs=s.email_window_secs,
            )
        table = self.settings_as(SuppressionSettings).rate_limits_table
        return DynamoEmailLimits(self.dynamodb, table, caps, self.clock, self.count_metric)

    @cached_property
    def email_events(self) -> EmailEvents:
        """functions/ses_events: SES's bounces and complaints suppress the address."""
        from phoneverify.email_config import SuppressionSettings
        from phoneverify.flows.email_events import EmailEvents

        self.settings_as(SuppressionSettings)
        return EmailEvents(
            limits=self.email_limits,
            events=self.events,
            clock=self.clock,
            pepper=self.hash_pepper,
            metric=self.count_metric,
        )

    def _deferred_notices(self) -> AccountNotices:
        self.settings_as(CodeSettings)  # raises ConfigurationError at cold start, as `notices`
        return _DeferredNotices(lambda: self.notices)
