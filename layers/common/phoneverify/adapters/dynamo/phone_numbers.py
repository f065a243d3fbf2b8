"""The UsersTable's pointers, `PHONE#<number>` and `EMAIL#<address>`: which account holds a
number or an address. Written only inside the transactions that create an account or change
its phone or email (users.py, phone_swaps.py, account_emails.py), so that no two accounts
ever hold one."""

from __future__ import annotations

from typing import Any

from phoneverify.adapters.dynamo.toolkit import to_item


def number_claimed(table: str, user_id: str, phone: str) -> dict[str, Any]:
    """The transaction item that gives `phone` to the account: only while no account holds it."""
    return pointer_claimed(table, user_id, f"PHONE#{phone}")


def number_released(table: str, user_id: str, phone: str) -> dict[str, Any]:
    """The transaction item that frees the account's `phone`: only while the account holds it."""
    return pointer_released(table, user_id, f"PHONE#{phone}")


def address_claimed(table: str, user_id: str, email: str) -> dict[str, Any]:
    """The transaction item that gives `email` to the account: only while no account holds it."""
    return pointer_claimed(table, user_id, f"EMAIL#{email}")


def address_released(table: str, user_id: str, email: str) -> dict[str, Any]:
    """The transaction item that frees the account's `email`: only while the account holds it."""
    return pointer_released(table, user_id, f"EMAIL#{email}")


def pointer_claimed(table: str, user_id: str, key: str) -> dict[str, Any]:
    item = to_item({"pk": key, "user_id": user_id})
    return {
        "Put": {"TableName": table, "Item": item, "ConditionExpression": "attribute_not_exists(pk)"}
    }


def pointer_released(table: str, user_id: str, key: str) -> dict[str, Any]:
    return {
        "Delete": {
            "TableName": table,
            "Key": to_item({"pk": key}),
            "ConditionExpression": "user_id = :uid",
            "ExpressionAttributeValues": to_item({":uid": user_id}),
        }
    }
