"""The payment reconciler, on a schedule (EventBridge, every 5 minutes; locally the stack's
poller): no route. Settles every payment left half-done past the grace period
(docs/payments.md#reconciliation), counts each outcome (PaymentsReconciled_<outcome>) and
publishes the age of the oldest payment still unsettled (PaymentUnsettledAlarm's). Then it
finishes the account deletions a crash left half-done (docs/privacy.md#after-a-crash):
their payments cancelled, their audit records pseudonymised (DeletionsFinished).
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from phoneverify.flows.account_deletion import finish_deletions
from phoneverify.flows.payment_reconcile import METRIC_OLDEST_UNSETTLED, METRIC_PREFIX
from phoneverify.http.request_end import writes_buffered_records_at_request_end
from phoneverify.reconcile_config import ReconcileSettings
from phoneverify.runtime import Runtime
from phoneverify.tracing import traced

logger = Logger()
runtime = Runtime.from_environment(ReconcileSettings)


def reconcile() -> dict[str, Any]:
    report = runtime.payment_reconciler.run()
    for outcome, count in report.outcomes.items():
        runtime.metrics.add_metric(name=METRIC_PREFIX + outcome, unit=MetricUnit.Count, value=count)
    runtime.metrics.add_metric(
        name=METRIC_OLDEST_UNSETTLED,
        unit=MetricUnit.Seconds,
        value=round(report.oldest_unsettled_secs, 1),
    )
    if report.outcomes:
        logger.info("payments reconciled", extra={"outcomes": report.outcomes})
    finished = finish_deletions(**runtime.deletion_cleanup_adapters)
    runtime.metrics.add_metric(name="DeletionsFinished", unit=MetricUnit.Count, value=finished)
    if finished:
        logger.info("deletions finished", extra={"finished": finished})
    return {
        "outcomes": report.outcomes,
        "oldest_unsettled_secs": report.oldest_unsettled_secs,
        "deletions_finished": finished,
    }


@logger.inject_lambda_context(clear_state=True)
@traced
@runtime.metrics.log_metrics
@writes_buffered_records_at_request_end(runtime)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return reconcile()
