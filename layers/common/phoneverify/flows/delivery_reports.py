"""Taking a provider's delivery report in: check its signature (through the port), find its
flow, and move the flow's delivery status forward with its event id's claim, in one write."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from enum import StrEnum

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import InvalidWebhookSignature
from phoneverify.domain.models import DeliveryStatus, FlowKind, RequestOrigin
from phoneverify.flows.engine.any_flow import AnyFlow, DeliveryUpdate
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.ports.verifications import DeliveryLedger, SignedWebhooks

logger = logging.getLogger(__name__)
# Who a refused delivery is audited under: the sender is unknown until a signature checks out.
WEBHOOK_SUBJECT = "webhook#telnyx"


class WebhookOutcome(StrEnum):
    RECORDED = "recorded"  # a flow's delivery status moved forward
    UNCHANGED = "unchanged"  # a report about an ended flow, a replaced code, or a step back
    UNKNOWN_VERIFICATION = "unknown_verification"  # no flow holds that verification id
    DUPLICATE = "duplicate"  # this event id was taken in before
    IGNORED = "ignored"  # an event type that carries no delivery report


# The send that triggers a code returns before the flow is written (and a GSI read can lag):
# a report that finds no flow is looked up again after these pauses before it is let go.
LOOKUP_RETRY_DELAYS = (0.1, 0.3, 0.6)


class WebhookReceiver:
    def __init__(
        self,
        *,
        verifier: SignedWebhooks,
        ledger: DeliveryLedger,
        flows: AnyFlow,
        audit: FlowAudit,
        clock: Clock,
        lookup_retry_delays: Sequence[float] = LOOKUP_RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._verifier = verifier
        self._ledger = ledger
        self._flows = flows
        self._audit = audit
        self._clock = clock
        self.lookup_retry_delays = tuple(lookup_retry_delays)
        self._sleep = sleep

    def receive(
        self, raw_body: bytes, headers: Mapping[str, str], origin: RequestOrigin
    ) -> WebhookOutcome:
        """Check, parse and apply one delivery. Raises InvalidWebhookSignature (an audited
        event), InvalidRequest, or StorageUnavailable (the provider retries it)."""
        try:
            event = self._verifier.open(raw_body, headers)
        except InvalidWebhookSignature as refused:
            self._audit.record(
                VerificationEventType.WEBHOOK_SIGNATURE_REJECTED,
                WEBHOOK_SUBJECT,
                origin,
                kind=FlowKind.SESSION,
                reason=refused.reason,
            )
            raise
        delivery = event.delivery
        if delivery is None or event.verification_id is None:
            outcome = WebhookOutcome.IGNORED
        else:
            outcome = self._apply(event.event_id, event.verification_id, delivery)
        logger.info(
            "telnyx webhook",
            extra={
                "event_id": event.event_id,
                "event_type": event.event_type,
                "verification_id": event.verification_id,
                "delivery_status": delivery.value if delivery else None,
                "outcome": outcome.value,
            },
        )
        return outcome

    def _apply(
        self, event_id: str, verification_id: str, delivery: DeliveryStatus
    ) -> WebhookOutcome:
        for delay in (0.0, *self.lookup_retry_delays):
            if delay:
                self._sleep(delay)
            update = self._flows.record_delivery(self._ledger, event_id, verification_id, delivery)
            if update is not DeliveryUpdate.NO_FLOW:
                return OUTCOMES[update]
        # Let go, claimed: its redelivery is answered as a duplicate.
        if self._ledger.claim(event_id, self._clock.now()):
            return WebhookOutcome.UNKNOWN_VERIFICATION
        return WebhookOutcome.DUPLICATE


OUTCOMES = {
    DeliveryUpdate.RECORDED: WebhookOutcome.RECORDED,
    DeliveryUpdate.UNCHANGED: WebhookOutcome.UNCHANGED,
    DeliveryUpdate.DUPLICATE: WebhookOutcome.DUPLICATE,
}
