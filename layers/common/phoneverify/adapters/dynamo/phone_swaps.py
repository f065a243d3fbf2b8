"""A lost phone's swap on the users table (docs/phone-lifecycle.md#a-lost-phone): attributes
of the `USER#<id>` item (`swap_*`), one swap at a time, and a `SWAP#<swap id>` pointer to the
account that the flow completing it finds it by. Every condition is built from the transitions
of domain/lifecycle/phone_swap.py (the fake decides by the same)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.phone_numbers import number_claimed, number_released
from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    conditional_update,
    read_item,
    to_item,
    transact_write_retrying,
    update_request,
)
from phoneverify.domain.errors import (
    NoPendingPhoneSwap,
    PhoneAlreadyRegistered,
    PhoneSuperseded,
    PhoneSwapPending,
    StorageUnavailable,
)
from phoneverify.domain.lifecycle.phone_swap import (
    CANCEL,
    COMPLETE,
    RECORD,
    PhoneSwap,
    SwapStatus,
    SwapTransition,
)
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any


def swap_condition(transition: SwapTransition) -> str:
    """The condition of `transition` on the account's item (values :pending, :now, :sid)."""
    live = "swap_status = :pending AND swap_expires > :now"
    parts = ["attribute_exists(pk)"]
    if transition.from_live:
        parts.append(live)
    else:
        parts.append(
            "(attribute_not_exists(swap_status) OR swap_status <> :pending OR swap_expires <= :now)"
        )
    if transition.same_swap:
        parts.append("swap_id = :sid")
    if transition.after_wait:
        parts.append("swap_binds_at <= :now")
    return " AND ".join(parts)


def swap_from_row(row: dict[str, Any]) -> PhoneSwap | None:
    """The swap a `USER#<id>` item carries, if any (DynamoUserRepository.get)."""
    if "swap_status" not in row:
        return None
    return PhoneSwap(
        swap_id=row["swap_id"],
        new_phone=row["swap_phone"],
        status=SwapStatus(row["swap_status"]),
        created_at=float(row["swap_created_at"]),
        binds_at=float(row["swap_binds_at"]),
        expires_at=float(row["swap_expires"]),
    )


class DynamoPhoneSwaps:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def record(
        self, user_id: str, swap: PhoneSwap, old_phone: str, phone_generation: int, now: float
    ) -> None:
        generation = "phone_gen = :gen"
        if phone_generation == 0:
            generation = f"(attribute_not_exists(phone_gen) OR {generation})"
        account = update_request(
            self._table,
            {"pk": f"USER#{user_id}"},
            "SET swap_id = :sid, swap_phone = :new, swap_status = :pending, "
            "swap_created_at = :created, swap_binds_at = :binds, swap_expires = :expires",
            f"{swap_condition(RECORD)} AND phone_number = :old AND {generation}",
            {
                ":sid": swap.swap_id,
                ":new": swap.new_phone,
                ":pending": SwapStatus.PENDING.value,
                ":created": int(swap.created_at),
                ":binds": int(swap.binds_at),
                ":expires": int(swap.expires_at),
                ":now": int(now),
                ":old": old_phone,
                ":gen": phone_generation,
            },
        )
        pointer = {
            "TableName": self._table,
            "Item": to_item(
                {
                    "pk": f"SWAP#{swap.swap_id}",
                    "user_id": user_id,
                    "expires": int(swap.expires_at),
                }
            ),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
        reasons = self._transact([{"Update": account}, {"Put": pointer}])
        if reasons is None:
            return
        if reasons[0] == REASON_CONDITION_FAILED:
            row = read_item(self._client, self._table, {"pk": f"USER#{user_id}"})
            live = row is not None and row.get("swap_status") == SwapStatus.PENDING.value
            if live and row is not None and float(row.get("swap_expires", 0)) > now:
                raise PhoneSwapPending()
            raise PhoneSuperseded()
        if reasons[1] == REASON_CONDITION_FAILED:
            raise PhoneSwapPending()  # this very flow recorded it already
        raise StorageUnavailable()

    def owner(self, swap_id: str, now: float) -> str | None:
        row = read_item(self._client, self._table, {"pk": f"SWAP#{swap_id}"})
        if row is None or float(row.get("expires", 0)) <= now:
            return None
        return str(row["user_id"])

    def cancel(self, user_id: str, now: float) -> PhoneSwap:
        try:
            old = conditional_update(
                self._client,
                self._table,
                {"pk": f"USER#{user_id}"},
                "SET swap_status = :cancelled",
                swap_condition(CANCEL),
                {
                    ":cancelled": CANCEL.to.value,
                    ":pending": SwapStatus.PENDING.value,
                    ":now": int(now),
                },
                returns="ALL_OLD",
            )
        except ConditionFailed:
            raise NoPendingPhoneSwap() from None
        swap = swap_from_row(old)
        if swap is None:  # not reachable: the condition read a live swap
            raise NoPendingPhoneSwap()
        return swap

    def complete(
        self,
        user_id: str,
        swap: PhoneSwap,
        old_phone: str | None,
        password_hash: str,
        now: float,
    ) -> None:
        current = "phone_number = :old" if old_phone else "attribute_not_exists(phone_number)"
        values: dict[str, Any] = {
            ":new": swap.new_phone,
            ":hash": password_hash,
            ":yes": True,
            ":now": int(now),
            ":one": 1,
            ":done": COMPLETE.to.value,
            ":pending": SwapStatus.PENDING.value,
            ":sid": swap.swap_id,
        }
        if old_phone:
            values[":old"] = old_phone
        account = update_request(
            self._table,
            {"pk": f"USER#{user_id}"},
            "SET phone_number = :new, phone_verified = :yes, phone_verified_at = :now, "
            "password_hash = :hash, password_changed_at = :now, swap_status = :done "
            "ADD phone_gen :one, token_gen :one, pw_gen :one",
            f"{swap_condition(COMPLETE)} AND {current}",
            values,
        )
        request: list[Any] = [
            {"Update": account},
            number_claimed(self._table, user_id, swap.new_phone),
            {"Delete": {"TableName": self._table, "Key": to_item({"pk": f"SWAP#{swap.swap_id}"})}},
        ]
        if old_phone:
            request.append(number_released(self._table, user_id, old_phone))
        reasons = self._transact(request)
        if reasons is None:
            return
        if reasons[0] == REASON_CONDITION_FAILED or reasons[3:4] == [REASON_CONDITION_FAILED]:
            raise NoPendingPhoneSwap()
        if reasons[1] == REASON_CONDITION_FAILED:
            raise PhoneAlreadyRegistered()
        raise StorageUnavailable()

    def _transact(self, request: list[Any]) -> list[str] | None:
        return transact_write_retrying(self._client, request)
