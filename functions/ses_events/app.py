"""SES's bounces and complaints (docs/email.md#bounces-and-complaints): no route.

The configuration set every email names (template.yaml EmailConfigurationSet) publishes its
BOUNCE and COMPLAINT events to EmailEventsTopic, and SNS invokes this function with each
(one record an invocation). A permanent bounce or a complaint suppresses the address for good
(flows/email_events.py); anything else is logged and ignored, a record that is not SES's is
dropped. A DynamoDB failure raises: Lambda retries the asynchronous invocation, and the
suppression, written by a conditional PutItem, is never written twice.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.typing import LambdaContext

from phoneverify.email_config import SesEventSettings
from phoneverify.http.request_end import writes_buffered_records_at_request_end
from phoneverify.runtime import Runtime
from phoneverify.tracing import traced

logger = Logger()
runtime = Runtime.from_environment(SesEventSettings)


def notification_message(record: Any) -> str:
    """The SNS notification's Message (SES's JSON record); "" when the record has none."""
    sns = record.get("Sns") if isinstance(record, dict) else None
    message = sns.get("Message") if isinstance(sns, dict) else None
    return message if isinstance(message, str) else ""


@logger.inject_lambda_context(clear_state=True)
@traced
@runtime.metrics.log_metrics
@writes_buffered_records_at_request_end(runtime)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    records = event.get("Records") if isinstance(event, dict) else None
    outcomes: dict[str, int] = {}
    for record in records if isinstance(records, list) else []:
        outcome = runtime.email_events.receive(notification_message(record))
        outcomes[outcome.value] = outcomes.get(outcome.value, 0) + 1
    return {"outcomes": outcomes}
