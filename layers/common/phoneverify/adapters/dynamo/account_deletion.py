"""An account deleted on UsersTable (docs/privacy.md#deleting-an-account): one
TransactWriteItems deletes the `USER#<id>` item and every item that points to it or hangs from
it (`EMAIL#`, `PHONE#`, a waiting swap's `SWAP#`, each `PASSKEY#`), all or nothing.

No tombstone is kept: every flow's write on an account is conditional on `USER#<id>` existing
(a code's phone binding, a phone, email or password change, a factor's write, a token's check
`account_gone`), so the item's absence is what ends them; a tombstone would have to be tested
by each of those conditions instead, and would keep a record of the person for nothing.

The account's item is deleted only while it still holds what the transaction frees (its email,
phone, swap and passkeys as read): a change that lands between the read and the transaction
cancels it, and the deletion reads again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    read_item,
    to_item,
    transact_write_retrying,
)
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.ports.account_data import DeletedAccount

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

# DynamoDB's limit on one transaction's items; an account holds far fewer (passkeys: 10).
MAX_TRANSACTION_ITEMS = 100
READS = 3  # a change racing the deletion three times running is answered 503


class DynamoAccountDeletion:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def delete(self, user_id: str) -> DeletedAccount | None:
        for _ in range(READS):
            row = read_item(self._client, self._table, {"pk": f"USER#{user_id}"})
            if row is None:
                return None
            reasons = transact_write_retrying(self._client, self.request(user_id, row))
            if reasons is None:
                phone = row.get("phone_number")
                return DeletedAccount(str(row["email"]), str(phone) if phone else None)
            if reasons[0] != REASON_CONDITION_FAILED:
                raise StorageUnavailable()
        raise StorageUnavailable()

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
