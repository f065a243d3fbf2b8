"""The payments' wiring (docs/payments.md): only the payment functions set PAYMENTS_TABLE and
friends. Their DynamoDB adapters (the payments, the count of payments without a code, the
ledger, Idempotency-Key), the operators' rates, the payment flow and a payment's status."""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from phoneverify.config import (
    PaymentInitiateSettings,
    PaymentRecordSettings,
    PaymentSettings,
)
from phoneverify.reconcile_config import ReconcileSettings
from phoneverify.runtime.use_cases import UseCases

if TYPE_CHECKING:
    from phoneverify.adapters.dynamo.exempt_payments import DynamoExemptPayments
    from phoneverify.adapters.dynamo.idempotency import PowertoolsIdempotentRequests
    from phoneverify.adapters.dynamo.ledger import LedgerPaymentProcessor
    from phoneverify.adapters.dynamo.payments import DynamoPaymentRepository
    from phoneverify.domain.rates import RateTable
    from phoneverify.flows.payment import PaymentFlow
    from phoneverify.flows.payment_reconcile import PaymentReconciler
    from phoneverify.flows.payment_status import PaymentVerificationStatus
    from phoneverify.ports.payments import RateSource


class _NoRates:
    """The rate source of the payment functions that never count a payment without a code."""

    def __init__(self, table: RateTable) -> None:
        self._table = table

    def current(self) -> RateTable:
        return self._table


class Payments(UseCases):
    @cached_property
    def payments(self) -> DynamoPaymentRepository:
        from phoneverify.adapters.dynamo.payments import DynamoPaymentRepository

        s = self.settings_as(PaymentRecordSettings)
        return DynamoPaymentRepository(
            self.dynamodb, s.payments_table, s.payment_retention_days * 86_400
        )

    @cached_property
    def exempt_payments(self) -> DynamoExemptPayments:
        from phoneverify.adapters.dynamo.exempt_payments import DynamoExemptPayments

        s = self.settings_as(PaymentSettings)
        # The account lock rides in the count's transaction, as in the send limits'.
        return DynamoExemptPayments(
            self.dynamodb, s.payments_table, self.account_locks, s.payment_retention_days * 86_400
        )

    @cached_property
    def payment_processor(self) -> LedgerPaymentProcessor:
        from phoneverify.adapters.dynamo.ledger import LedgerPaymentProcessor

        settings = self.settings
        ledger = (
            settings
            if isinstance(settings, ReconcileSettings)
            else self.settings_as(PaymentSettings)
        )
        retention = ledger.payment_retention_days * 86_400
        return LedgerPaymentProcessor(self.dynamodb, ledger.ledger_table, self.clock, retention)

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

        if not self.settings.converts_currencies:
            return _NoRates(RateTable())
        s = self.settings_as(PaymentInitiateSettings)
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
        from phoneverify.flows.payment import TOO_MANY_ATTEMPTS as PAYMENT_TOO_MANY_ATTEMPTS
        from phoneverify.flows.payment import PaymentFlow
        from phoneverify.flows.payment_pending import RESTART_HINT as PAYMENT_RESTART_HINT

        s = self.settings_as(PaymentSettings)
        policy = self.challenge_policy(
            FlowKind.PAYMENT,
            s.payment_timeout_secs,
            PAYMENT_RESTART_HINT,
            PAYMENT_TOO_MANY_ATTEMPTS,
        )
        thresholds = Thresholds.from_config(s.payment_thresholds, s.payment_default_threshold)
        # Only POST /payments/initiate counts payments without a code (`converts_currencies`).
        initiate = self.settings_as(PaymentInitiateSettings) if s.converts_currencies else None
        reference = initiate.payment_reference_currency if initiate is not None else "USD"
        return PaymentFlow(
            thresholds=thresholds,
            exemption_limits=ExemptionLimits.from_config(
                initiate.payment_cumulative_limits if initiate is not None else {},
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

    @cached_property
    def payment_reconciler(self) -> PaymentReconciler:
        """The scheduled settlement of payments left half-done (docs/payments.md)."""
        from phoneverify.adapters.dynamo.exempt_payments import DynamoExemptPayments
        from phoneverify.flows.payment_reconcile import PaymentReconciler

        s = self.settings_as(ReconcileSettings)
        return PaymentReconciler(
            payments=self.payments,
            processor=self.payment_processor,
            # Only its give-back is used: no payment is counted here.
            exemptions=DynamoExemptPayments(self.dynamodb, s.payments_table, self.account_locks),
            flows=self.any_flow,
            audit=self.flow_audit,
            clock=self.clock,
            grace_secs=s.payment_reconcile_grace_secs,
            batch=s.payment_reconcile_batch,
        )
