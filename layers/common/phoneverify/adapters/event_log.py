"""VerificationEvents as structured logs and CloudWatch metrics (never a code, phones masked)."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from phoneverify.domain.models import VerificationEvent
from phoneverify.ports import VerificationEvents

logger = Logger(child=True)


class LoggedVerificationEvents:
    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics

    def record(self, event: VerificationEvent) -> None:
        logger.info(
            "verification event",
            extra={
                "event_type": event.type.value,
                "flow": event.kind.value,
                "subject": event.subject,
                "phone": event.masked_phone,
                "source_ip": event.origin.source_ip,
                "user_agent": event.origin.user_agent,
                **event.detail,
            },
        )
        if self._metrics is not None:
            self._metrics.add_metric(
                name=f"Verification_{event.type.value}", unit=MetricUnit.Count, value=1
            )


class EventFanout:
    """Hands each event to several sinks (logs and metrics, the audit trail)."""

    def __init__(self, *sinks: VerificationEvents) -> None:
        self._sinks = sinks

    def record(self, event: VerificationEvent) -> None:
        for sink in self._sinks:
            sink.record(event)
