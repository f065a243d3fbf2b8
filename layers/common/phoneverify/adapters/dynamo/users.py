"""The users table: accounts, their email and phone pointers, and token generations."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    REASON_CONFLICT,
    Returns,
    conditional_update,
    read_item,
    to_item,
    transact_write,
)
from phoneverify.domain.errors import (
    EmailAlreadyRegistered,
    NoPendingVerification,
    PhoneAlreadyRegistered,
    StorageUnavailable,
)
from phoneverify.domain.models import (
    User,
)
from phoneverify.ports import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any


class DynamoUserRepository:
    """Users are stored as `USER#<id>` items; `EMAIL#<email>` and `PHONE#<e164>` items point
    to them, one account per email and per phone number."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def find_by_email(self, email: str) -> User | None:
        return self._find_by(f"EMAIL#{email}")

    def find_by_phone(self, phone_number: str) -> User | None:
        """The user holding this E.164 number (`PHONE#<e164>` points to it), if any."""
        return self._find_by(f"PHONE#{phone_number}")

    def _find_by(self, pointer_key: str) -> User | None:
        pointer = read_item(self._client, self._table, {"pk": pointer_key})
        return self.get(pointer["user_id"]) if pointer else None

    def get(self, user_id: str) -> User | None:
        """The `USER#<id>` item, read consistently."""
        row = read_item(self._client, self._table, {"pk": f"USER#{user_id}"})
        if not row:
            return None
        return User(
            user_id=row["user_id"],
            email=row["email"],
            password_hash=row["password_hash"],
            phone_number=row.get("phone_number"),
            name=row.get("name"),
            token_generation=int(row.get("token_gen", 0)),
        )

    def put_user(self, user: User, *, phone_verified_at: float | None = None) -> None:
        """Create a user with its email (and phone) pointers, all only if absent (one
        transaction), so two registrations racing for one email or phone make one account.

        Raises PhoneAlreadyRegistered when another user holds the phone (whether or not the
        email is taken too), else EmailAlreadyRegistered when another user holds the email.
        User ids are fresh, so a taken `USER#<id>` means this same write already went through
        (a retry after a lost response, or seeding run twice): that counts as done.
        """
        item = to_item(
            {
                "pk": f"USER#{user.user_id}",
                "user_id": user.user_id,
                "email": user.email,
                "password_hash": user.password_hash,
                "name": user.name or None,
            }
        )
        if user.phone_number:
            item |= to_item(
                {
                    "phone_number": user.phone_number,
                    "phone_verified": phone_verified_at is not None,
                    "phone_verified_at": None
                    if phone_verified_at is None
                    else int(phone_verified_at),
                }
            )
        pointers = [f"EMAIL#{user.email}"]
        if user.phone_number:
            pointers.append(f"PHONE#{user.phone_number}")
        items = [item] + [to_item({"pk": key, "user_id": user.user_id}) for key in pointers]
        request: list[Any] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": each,
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for each in items
        ]
        for attempt in range(2):
            reasons = transact_write(self._client, request)
            if reasons is None:
                return
            if reasons[:1] == [REASON_CONDITION_FAILED]:
                return  # USER#<id> exists: this write already happened
            # The phone first: whoever writes an account has just proven that phone, so
            # "sign in" is the answer that helps them when the email is taken as well.
            if reasons[2:3] == [REASON_CONDITION_FAILED]:
                raise PhoneAlreadyRegistered()
            if reasons[1:2] == [REASON_CONDITION_FAILED]:
                raise EmailAlreadyRegistered()
            if REASON_CONFLICT not in reasons or attempt:
                break
            # Another transaction held one of these items: once more, after a short pause;
            # if it created that email or phone, the retry answers 409.
            time.sleep(0.02 + secrets.randbelow(80) / 1000)
        raise StorageUnavailable()

    def reset_password(self, user_id: str, password_hash: str, now: float) -> None:
        """One conditional update: the new hash, and the next token generation, which ends
        every token issued before (a token carries the generation it was issued in)."""
        try:
            self._update_user(
                user_id,
                "SET password_hash = :hash, password_changed_at = :now ADD token_gen :one",
                {":hash": password_hash, ":now": int(now), ":one": 1},
            )
        except ConditionFailed:
            raise NoPendingVerification("No account to reset. Sign up again.") from None

    def end_all_tokens(self, user_id: str) -> str | None:
        """The account's phone number comes back with the same write (for the notice)."""
        try:
            item = self._update_user(user_id, "ADD token_gen :one", {":one": 1}, "ALL_NEW")
        except ConditionFailed:
            return None  # no such account (a pending registration): it has no token to end
        phone = item.get("phone_number")
        return str(phone) if phone else None

    def _update_user(
        self, user_id: str, update: str, values: dict[str, Any], returns: Returns = "NONE"
    ) -> dict[str, Any]:
        """A conditional update of an existing `USER#<id>` item (ConditionFailed if gone)."""
        key = {"pk": f"USER#{user_id}"}
        return conditional_update(
            self._client,
            self._table,
            key,
            update,
            "attribute_exists(pk)",
            values,
            returns=returns,
        )
