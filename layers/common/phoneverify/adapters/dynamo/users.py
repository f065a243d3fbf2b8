"""The users table: accounts, their email and phone pointers, and token generations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.phone_numbers import number_claimed, number_released
from phoneverify.adapters.dynamo.phone_swaps import swap_from_row
from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    Returns,
    conditional_update,
    read_item,
    to_item,
    transact_write_retrying,
    update_request,
)
from phoneverify.domain.errors import (
    EmailAlreadyRegistered,
    PasswordSuperseded,
    PhoneAlreadyRegistered,
    PhoneSuperseded,
    StorageUnavailable,
)
from phoneverify.domain.models import PhoneBinding, User
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any


def phone_generation_check(users_table: str, binding: PhoneBinding) -> dict[str, Any]:
    """A TransactWriteItems ConditionCheck body: the account still exists and its phone
    generation is still the one `binding` was sent under (docs/phone-lifecycle.md). Any
    transaction that must not outlive a phone change adds it, at no extra round trip."""
    generation = "phone_gen = :gen"
    if binding.phone_generation == 0:
        generation = f"attribute_not_exists(phone_gen) OR {generation}"
    condition = f"attribute_exists(pk) AND ({generation})"
    values: dict[str, Any] = {":gen": binding.phone_generation}
    if binding.token_generation is not None:
        # A login's: no logout of every session (nor a password reset) since its code went.
        tokens = "token_gen = :tokens"
        if binding.token_generation == 0:
            tokens = f"attribute_not_exists(token_gen) OR {tokens}"
        condition += f" AND ({tokens})"
        values[":tokens"] = binding.token_generation
    return {
        "TableName": users_table,
        "Key": to_item({"pk": f"USER#{binding.user_id}"}),
        "ConditionExpression": condition,
        "ExpressionAttributeValues": to_item(values),
        # The account as the check found it tells which of the two moved (PhoneBinding.refusal).
        "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
    }


# The user id read in place of an account for an email that has none: ids are UUIDs, never this.
NO_ACCOUNT = "no-account"


class DynamoUserRepository:
    """Users are stored as `USER#<id>` items; `EMAIL#<email>` and `PHONE#<e164>` items point
    to them, one account per email and per phone number."""

    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def find_by_email(self, email: str) -> User | None:
        """The account of `email`, if any, in two consistent reads either way: the pointer,
        then the account, or (no pointer) an account key that is never written, so an unknown
        email costs /login and the password reset what a known one costs (the answer's time
        does not tell who is registered)."""
        pointer = read_item(self._client, self._table, {"pk": f"EMAIL#{email}"})
        if pointer is None:
            read_item(self._client, self._table, {"pk": f"USER#{NO_ACCOUNT}"})
            return None
        return self.get(pointer["user_id"])

    def email_holder(self, email: str) -> str | None:
        """The `EMAIL#<email>` pointer's account id: one consistent read either way."""
        pointer = read_item(self._client, self._table, {"pk": f"EMAIL#{email}"})
        return None if pointer is None else str(pointer["user_id"])

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
            phone_generation=int(row.get("phone_gen", 0)),
            password_generation=int(row.get("pw_gen", 0)),
            email_proven_at=None
            if row.get("email_proven_at") is None
            else float(row["email_proven_at"]),
            created_at=None if row.get("created_at") is None else float(row["created_at"]),
            phone_swap=swap_from_row(row),
            totp_enrolled_at=None
            if row.get("totp_enrolled_at") is None
            else float(row["totp_enrolled_at"]),
            recovery_codes_left=len(row.get("recovery_codes") or ()),
            passkey_count=len(row.get("passkey_ids") or ()),
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
                "email_proven_at": None
                if user.email_proven_at is None
                else int(user.email_proven_at),
                "created_at": None if user.created_at is None else int(user.created_at),
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
        reasons = self._transact(request)
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
        raise StorageUnavailable()

    def change_phone(
        self,
        user_id: str,
        old_phone: str | None,
        new_phone: str,
        phone_generation: int,
        now: float,
        *,
        token_generation: int | None = None,
    ) -> None:
        """One transaction (docs/phone-lifecycle.md): the account moves to `new_phone` and the
        next phone generation only while its generation is `phone_generation` (and its phone
        `old_phone`), and every token of it ends (token generation raised by one, only while
        it is `token_generation` when given); `PHONE#<new>` is claimed only if absent;
        `PHONE#<old>` is released only while it points to this account. Two changes racing on
        one account, or two accounts racing for one number, make exactly one change."""
        current = "phone_number = :old" if old_phone else "attribute_not_exists(phone_number)"
        generation = "phone_gen = :gen"
        if phone_generation == 0:
            generation = f"(attribute_not_exists(phone_gen) OR {generation})"
        if token_generation is not None:
            tokens = "token_gen = :tokens"
            if token_generation == 0:
                tokens = f"(attribute_not_exists(token_gen) OR {tokens})"
            generation = f"{generation} AND {tokens}"
        values: dict[str, Any] = {
            ":new": new_phone,
            ":yes": True,
            ":now": int(now),
            ":one": 1,
            ":gen": phone_generation,
        }
        if old_phone:
            values[":old"] = old_phone
        if token_generation is not None:
            values[":tokens"] = token_generation
        account = update_request(
            self._table,
            {"pk": f"USER#{user_id}"},
            "SET phone_number = :new, phone_verified = :yes, phone_verified_at = :now "
            "ADD phone_gen :one, token_gen :one",
            f"attribute_exists(pk) AND {current} AND {generation}",
            values,
        )
        request: list[Any] = [
            {"Update": account},
            number_claimed(self._table, user_id, new_phone),
        ]
        if old_phone:
            request.append(number_released(self._table, user_id, old_phone))
        reasons = self._transact(request)
        if reasons is None:
            return
        # The account first: a flow that lost the race is over whoever holds the number.
        if reasons[0] == REASON_CONDITION_FAILED or reasons[2:3] == [REASON_CONDITION_FAILED]:
            raise PhoneSuperseded()
        if reasons[1] == REASON_CONDITION_FAILED:
            raise PhoneAlreadyRegistered()
        raise StorageUnavailable()

    def _transact(self, request: list[Any]) -> list[str] | None:
        return transact_write_retrying(self._client, request)

    def reset_password(
        self, user_id: str, password_hash: str, now: float, password_generation: int
    ) -> None:
        """One conditional update: the new hash, the next token generation (which ends every
        token issued before: a token carries the generation it was issued in), and the next
        password generation, only while it is still `password_generation`. Of two resets
        racing on one account, exactly one sets its password."""
        generation = "pw_gen = :gen"
        if password_generation == 0:
            generation = f"(attribute_not_exists(pw_gen) OR {generation})"
        try:
            conditional_update(
                self._client,
                self._table,
                {"pk": f"USER#{user_id}"},
                "SET password_hash = :hash, password_changed_at = :now "
                "ADD token_gen :one, pw_gen :one",
                f"attribute_exists(pk) AND {generation}",
                {
                    ":hash": password_hash,
                    ":now": int(now),
                    ":one": 1,
                    ":gen": password_generation,
                },
            )
        except ConditionFailed:
            raise PasswordSuperseded() from None

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
