"""The UsersTable's `PHONE#<number>` items: which account holds a number. Written only inside
the transactions that change an account's phone (users.py, phone_swaps.py), so that no two
accounts ever hold one number."""

from __future__ import annotations

from typing import Any

from phoneverify.adapters.dynamo.toolkit import to_item


def number_claimed(table: str, user_id: str, phone: str) -> dict[str, Any]:
    """The transaction item that gives `phone` to the account: only while no account holds it."""
    item = to_item({"pk": f"PHONE#{phone}", "user_id": user_id})
    return {
        "Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
    }


def number_released(table: str, user_id: str, phone: str) -> dict[str, Any]:
    """The transaction item that frees the account's `phone`: only while the account holds it."""
    return {
        "Delete": {
            "TableName": table,
            "Key": to_item({"pk": f"PHONE#{phone}"}),
            "ConditionExpression": "user_id = :uid",
            "ExpressionAttributeValues": to_item({":uid": user_id}),
        }
    }
