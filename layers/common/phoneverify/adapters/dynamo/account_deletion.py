"""An account deleted on UsersTable (docs/privacy.md#deleting-an-account): one
TransactWriteItems deletes the `USER#<id>` item and every item that points to it or hangs from
it (`EMAIL#`, `PHONE#`, a waiting swap's `SWAP#`, each `PASSKEY#`), all or nothing.

No tombstone is kept: every flow's write on an account is conditional on `USER#<id>` existing
(a code's phone binding, a phone, email or password change, a factor's write, a token's check
`account_gone`), so the item's absence is what ends them; a tombstone would have to be tested
by each of those conditions instead, and would keep a record of the person for nothing.

The account's item is deleted only while it still holds what the transaction frees (its email,
phone, swap and passkeys as read): a change that lands between the read and the transaction
cancels it, and the deletion reads again.

Written in the same transaction (`Alongside`, made from the account as read): the phone's last
notice, by the outbox's own conditional put into NoticesOutboxTable, and the marker of the
cleanup still to do (`DELETED#<user_id>`, domain/deletion.py; deletion_cleanup.py finds and
ends it). A crash after the transaction loses neither."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    read_item,
    to_item,
    transact_write_retrying,
)
from phoneverify.domain.deletion import DeletionMarker, marker_key, marker_ttl
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.ports.account_data import Alongside, DeletedAccount

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from phoneverify.adapters.dynamo.notices_outbox import DynamoNoticesOutbox
else:
    DynamoDBClient = Any

# DynamoDB's limit on one transaction's items; an account holds far fewer (passkeys: 10; with
# the notice and the marker, a dozen and four).
MAX_TRANSACTION_ITEMS = 100
READS = 3  # a change racing the deletion three times running is answered 503
MARKERS = "account"  # the one partition of the sparse index of markers: they are few


class DynamoAccountDeletion:
    def __init__(
        self, client: DynamoDBClient, table: str, outbox: DynamoNoticesOutbox | None = None
    ) -> None:
        self._client = client
        self._table = table
        self._outbox = outbox

    def delete(
        self, user_id: str, alongside: Callable[[DeletedAccount], Alongside] | None = None
    ) -> DeletedAccount | None:
        for _ in range(READS):
            row = read_item(self._client, self._table, {"pk": f"USER#{user_id}"})
            if row is None:
                return None
            phone = row.get("phone_number")
            deleted = DeletedAccount(str(row["email"]), str(phone) if phone else None)
            extra = self._alongside(alongside(deleted) if alongside else Alongside())
            request = [*self.request(user_id, row), *extra]
            if len(request) > MAX_TRANSACTION_ITEMS:
                raise StorageUnavailable()
            reasons = transact_write_retrying(self._client, request)
            if reasons is None:
                return deleted
            if reasons[0] != REASON_CONDITION_FAILED:
                raise StorageUnavailable()
        raise StorageUnavailable()

    def _alongside(self, alongside: Alongside) -> list[dict[str, Any]]:
        items = []
        if alongside.notice is not None and self._outbox is not None:
            items.append(self._outbox.put_request(alongside.notice))
        if alongside.marker is not None:
            items.append(self.marker_request(alongside.marker))
        return items

    def marker_request(self, marker: DeletionMarker) -> dict[str, Any]:
        """The marker's put: new (a racing deletion's transaction fails on the account)."""
        values: dict[str, Any] = {
            "pk": marker_key(marker.user_id),
            "user_id": marker.user_id,
            "subjects": list(marker.subjects),
            "deleted_at": marker.deleted_at,
            "deleting": MARKERS,  # the sparse index `deletions-pending` holds markers only
            "ttl": marker_ttl(marker),
        }
        return {
            "Put": {
                "TableName": self._table,
                "Item": to_item(values),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def request(self, user_id: str, row: dict[str, Any]) -> list[dict[str, Any]]:
        """The transaction that deletes the account `row` (as read) and its items."""
        clauses = ["attribute_exists(pk)", "email = :email"]
        values: dict[str, Any] = {":email": row["email"]}
        owned = [f"EMAIL#{row['email']}"]
        for attribute, prefix in (("phone_number", "PHONE#"), ("swap_id", "SWAP#")):
            if row.get(attribute):
                clauses.append(f"{attribute} = :{attribute}")
                values[f":{attribute}"] = row[attribute]
                owned.append(f"{prefix}{row[attribute]}")
            else:
                clauses.append(f"attribute_not_exists({attribute})")
        passkeys = sorted(row.get("passkey_ids") or ())
        if passkeys:
            clauses.append("passkey_ids = :passkeys")
            values[":passkeys"] = set(passkeys)
            owned.extend(f"PASSKEY#{each}" for each in passkeys)
        else:
            clauses.append("attribute_not_exists(passkey_ids)")  # DynamoDB has no empty set
        account = {
            "Delete": {
                "TableName": self._table,
                "Key": to_item({"pk": f"USER#{user_id}"}),
                "ConditionExpression": " AND ".join(clauses),
                "ExpressionAttributeValues": to_item(values),
            }
        }
        # Each pointer goes only while it is this account's (or already gone): never another's.
        released = [
            {
                "Delete": {
                    "TableName": self._table,
                    "Key": to_item({"pk": key}),
                    "ConditionExpression": "attribute_not_exists(pk) OR user_id = :uid",
                    "ExpressionAttributeValues": to_item({":uid": user_id}),
                }
            }
            for key in owned
        ]
        request = [account, *released]
        if len(request) > MAX_TRANSACTION_ITEMS:
            raise StorageUnavailable()
        return request
