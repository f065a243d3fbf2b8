"""The audit trail: every verification event, durably, per user, never with a code.

Items live in the AuditTable under the flow's subject (a user id, or a pending registration
id), sorted by time, and expire through TTL after the retention period.
"""

from __future__ import annotations

import math
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.toolkit import dynamodb_errors
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import VerificationEvent

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)


class DynamoAuditTrail:
    def __init__(self, client: DynamoDBClient, table: str, retention_secs: int) -> None:
        self._client = client
        self._table = table
        self._retention = retention_secs

    def record(self, event: VerificationEvent) -> None:
        at = datetime.fromtimestamp(event.at, UTC)
        item: dict[str, Any] = {
            "subject": {"S": event.subject},
            "sk": {"S": f"{at.isoformat(timespec='microseconds')}#{uuid.uuid4().hex[:12]}"},
            "event": {"S": event.type.value},
            "flow": {"S": event.kind.value},
            "masked_phone": {"S": event.masked_phone},
            "source_ip": {"S": event.origin.source_ip},
            "user_agent": {"S": event.origin.user_agent or "-"},
            "at": {"S": at.isoformat()},
            "ttl": {"N": str(math.ceil(event.at + self._retention))},
        }
        if event.detail:
            item["detail"] = {"M": {k: {"S": str(v)} for k, v in event.detail.items()}}
        try:
            with dynamodb_errors():
                self._client.put_item(TableName=self._table, Item=item)
        except StorageUnavailable:
            # The verification itself has happened; losing the request over its audit record
            # would only make the person retry. The event goes to the logs instead.
            logger.error(
                "audit write failed",
                extra={k: v.get("S", v.get("N")) for k, v in item.items() if k != "detail"},
            )

    def events_for(self, subject: str, limit: int = 100) -> list[dict[str, Any]]:
        """The newest `limit` events of `subject`, newest first."""
        with dynamodb_errors():
            response = self._client.query(
                TableName=self._table,
                KeyConditionExpression="subject = :s",
                ExpressionAttributeValues={":s": {"S": subject}},
                ScanIndexForward=False,
                Limit=limit,
            )
        return [
            {
                key: (
                    {k: v["S"] for k, v in value["M"].items()}
                    if "M" in value
                    else value.get("S", value.get("N"))
                )
                for key, value in item.items()
            }
            for item in response.get("Items", [])
        ]
