"""Notices delivered from the outbox (docs/notices.md): no route.

Two kinds of event reach it:

- a batch of NoticesOutboxTable's stream (inserts only: the event source mapping filters the
  rest): each new notice is delivered; one that could not go now is answered as a batch item
  failure (ReportBatchItemFailures), so Lambda retries it, and after MaximumRetryAttempts its
  record goes to the dead-letter queue. The outbox keeps it pending all the same;
- the schedule's (EventBridge, every few minutes; locally the stack's poller): the sweep
  delivers every notice still pending, oldest first, and publishes the age of the oldest left
  (METRIC_OLDEST_PENDING, NoticePendingAlarm's).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from phoneverify.config import CodeSettings
from phoneverify.domain.notices import METRIC_OLDEST_PENDING, DeliveryOutcome
from phoneverify.http.request_end import writes_buffered_records_at_request_end
from phoneverify.runtime import Runtime
from phoneverify.tracing import traced

logger = Logger()
runtime = Runtime.from_environment(CodeSettings)


def stream_batch(event: dict[str, Any]) -> dict[str, Any]:
    failures = []
    for record in event.get("Records", []):
        if record.get("eventName") != "INSERT":
            continue  # the outbox's own updates (a claim, a delivery) start nothing
        stream = record["dynamodb"]
        notice_id = stream["Keys"]["pk"]["S"]
        try:
            outcome = runtime.notice_delivery.deliver(notice_id)
        except Exception:
            logger.exception("notice delivery failed")
            outcome = DeliveryOutcome.RETRY
        if outcome is DeliveryOutcome.RETRY:
            failures.append({"itemIdentifier": stream["SequenceNumber"]})
    return {"batchItemFailures": failures}


def sweep() -> dict[str, Any]:
    report = runtime.notice_delivery.sweep()
    minutes = report.oldest_pending_secs / 60
    runtime.metrics.add_metric(
        name=METRIC_OLDEST_PENDING, unit=MetricUnit.NoUnit, value=round(minutes, 1)
    )
    if report.outcomes:
        logger.info("notices swept", extra={"outcomes": report.outcomes})
    return {"outcomes": report.outcomes, "oldest_pending_secs": report.oldest_pending_secs}


@logger.inject_lambda_context(clear_state=True)
@traced
@runtime.metrics.log_metrics
@writes_buffered_records_at_request_end(runtime)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    if "Records" in event:
        return stream_batch(event)
    return sweep()
