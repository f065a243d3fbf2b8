"""What the cleanup after an account's deletion reads and writes (docs/privacy.md#deleting-an-
account; domain/deletion.py): the markers the deletion's transaction leaves in UsersTable, and
the audit records of the deleted person, pseudonymised in AuditTable.

Markers are found by the sparse index `deletions-pending` (`deleting`, `deleted_at`), which
holds only them, oldest first. A marker goes by a conditional delete once its cleanup is done.

An audit record is pseudonymised by a conditional UpdateItem inside one TransactWriteItems per
hundred records (`attribute_exists(subject)`: a record TTL removed meanwhile is not written
again): the masked number, the source address and the user agent removed, the detail cut to
what names nobody. Records already pseudonymised are left alone, so a second run (the request's
own, then a scheduled one after a crash) writes nothing more. What the request has collected
for the end of the request (write_buffer.py: its own audit records) is written first, so those
are pseudonymised too."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    delete,
    dynamodb_errors,
    from_item,
    query_first,
    to_item,
    transact_write_retrying,
)
from phoneverify.adapters.dynamo.write_buffer import write_buffered_now
from phoneverify.domain.deletion import (
    PERSONAL_FIELDS,
    DeletionMarker,
    marker_key,
    pseudonymised_detail,
    still_personal,
)
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

MARKERS_INDEX = "deletions-pending"
MARKERS = "account"  # account_deletion.py MARKERS: the index's one partition
MAX_TRANSACTION_ITEMS = 100
PASSES = 3  # a record expiring under a pass fails it; the next pass reads again


class DynamoDeletionMarkers:
    def __init__(self, client: DynamoDBClient, users_table: str) -> None:
        self._client = client
        self._table = users_table

    def oldest(self, limit: int) -> list[DeletionMarker]:
        items = query_first(
            self._client,
            self._table,
            MARKERS_INDEX,
            "deleting = :markers",
            {":markers": MARKERS},
            limit,
        )
        return [
            DeletionMarker(
                str(item["user_id"]),
                tuple(str(subject) for subject in item.get("subjects") or ()),
                float(item["deleted_at"]),
            )
            for item in items
        ]

    def done(self, user_id: str) -> None:
        try:
            delete(self._client, self._table, {"pk": marker_key(user_id)}, condition=EXISTS)
        except ConditionFailed:  # finished by another run already
            return


EXISTS = "attribute_exists(pk)"


class DynamoAuditScrub:
    def __init__(self, client: DynamoDBClient, audit_table: str) -> None:
        self._client = client
        self._table = audit_table

    def pseudonymise(self, subjects: tuple[str, ...]) -> int:
        write_buffered_now()
        written = 0
        for _ in range(PASSES):
            records = [r for subject in subjects for r in self._records(subject)]
            personal = [r for r in records if still_personal(r)]
            expired = False  # a record TTL removed under this pass: read again
            for start in range(0, len(personal), MAX_TRANSACTION_ITEMS):
                chunk = personal[start : start + MAX_TRANSACTION_ITEMS]
                reasons = transact_write_retrying(self._client, [self._update(r) for r in chunk])
                if reasons is None:
                    written += len(chunk)
                elif REASON_CONDITION_FAILED in reasons:
                    expired = True
                else:
                    raise StorageUnavailable()
            if not expired:
                return written
        raise StorageUnavailable()

    def _records(self, subject: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "subject = :s",
            "ExpressionAttributeValues": to_item({":s": subject}),
            "ConsistentRead": True,
        }
        while True:
            with dynamodb_errors():
                page = self._client.query(**request)
            found.extend(from_item(item) for item in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                return found
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _update(self, record: dict[str, Any]) -> dict[str, Any]:
        removed = [f"#{field}" for field in PERSONAL_FIELDS]
        names = {f"#{field}": field for field in PERSONAL_FIELDS}
        names["#subject"] = "subject"
        names["#detail"] = "detail"
        update: dict[str, Any] = {
            "TableName": self._table,
            "Key": to_item({"subject": record["subject"], "sk": record["sk"]}),
            "ConditionExpression": "attribute_exists(#subject)",
            "ExpressionAttributeNames": names,
        }
        detail = pseudonymised_detail(record.get("detail"))
        if detail is None:
            update["UpdateExpression"] = "REMOVE " + ", ".join([*removed, "#detail"])
        else:
            update["UpdateExpression"] = "SET #detail = :detail REMOVE " + ", ".join(removed)
            update["ExpressionAttributeValues"] = to_item({":detail": detail})
        return {"Update": update}
