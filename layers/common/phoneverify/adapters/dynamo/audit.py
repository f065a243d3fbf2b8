"""The audit trail: every verification event, durably, per user, never with a code.

Items live in the AuditTable under the flow's subject (a user id, or a pending registration
id), sorted by time, and expire through TTL after the retention period.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.toolkit import dynamodb_errors, from_item, to_item
from phoneverify.adapters.dynamo.write_buffer import put_best_effort
from phoneverify.domain.audit_events import VerificationEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)


def audit_values(event: VerificationEvent, retention_secs: int) -> dict[str, Any]:
    """The AuditTable item of `event` as plain values (None: an attribute left out): the one
    item shape, for this trail and for writers that put it in a transaction of their own (the
    operators' command, ops/)."""
    at = datetime.fromtimestamp(event.at, UTC)
    return {
        "subject": event.subject,
        "sk": f"{at.isoformat(timespec='microseconds')}#{uuid.uuid4().hex[:12]}",
        "event": event.type.value,
        "flow": event.kind.value,
        "masked_phone": event.masked_phone,
        "source_ip": event.origin.source_ip,
        "user_agent": event.origin.user_agent or "-",
        "at": at.isoformat(),
        "ttl": math.ceil(event.at + retention_secs),
        "detail": {k: str(v) for k, v in event.detail.items()} if event.detail else None,
    }


class DynamoAuditTrail:
    def __init__(self, client: DynamoDBClient, table: str, retention_secs: int) -> None:
        self._client = client
        self._table = table
        self._retention = retention_secs

    def record(self, event: VerificationEvent) -> None:
        values = audit_values(event, self._retention)

        def failed() -> None:
            # The verification itself has happened; losing the request over its audit record
            # would only make the person retry. The event goes to the logs instead.
            logger.error(
                "audit write failed",
                extra={k: str(v) for k, v in values.items() if k != "detail" and v is not None},
            )

        # At the end of the request, with its other best-effort writes (write_buffer.py).
        put_best_effort(self._client, self._table, values, ("subject", "sk"), failed)

    def events_for(self, subject: str, limit: int = 100) -> list[dict[str, Any]]:
        """The newest `limit` events of `subject`, newest first."""
        with dynamodb_errors():
            response = self._client.query(
                TableName=self._table,
                KeyConditionExpression="subject = :s",
                ExpressionAttributeValues=to_item({":s": subject}),
                ScanIndexForward=False,
                Limit=limit,
            )
        # Numbers as their text, as DynamoDB sends them: the events stay JSON as they are.
        return [
            {key: str(value) if isinstance(value, Decimal) else value for key, value in row.items()}
            for row in map(from_item, response.get("Items", []))
        ]
