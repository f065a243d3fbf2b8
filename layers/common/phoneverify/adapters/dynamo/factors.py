"""The account's stronger factors on its `USER#<id>` item (docs/factors.md): the app's secret
(encrypted, `totp_secret`), when it was confirmed (`totp_enrolled_at`), its last used time
step (`totp_last_step`) and the unspent recovery codes' digests (`recovery_codes`, a string
set). Each change is one conditional UpdateItem; the replay rule's condition is
domain/totp.py's `step_is_fresh`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import conditional_update, read_item
from phoneverify.ports.conditions import ConditionFailed
from phoneverify.ports.factors import TotpSecret

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

# step_is_fresh(last, step): no step used yet, or an earlier one.
STEP_IS_FRESH = "(attribute_not_exists(totp_last_step) OR totp_last_step < :step)"
# codes_outlive_removal(passkeys_left, app_left=False) is False: no passkey is left (a string
# set is never empty in DynamoDB: its last id's DELETE removes the attribute).
NO_PASSKEY = "(attribute_not_exists(passkey_ids) OR size(passkey_ids) = :zero)"
HAS_APP = "attribute_type(totp_secret, :binary)"
APP = "totp_secret, totp_enrolled_at, totp_last_step"


class DynamoAccountFactors:
    def __init__(self, client: DynamoDBClient, table: str) -> None:
        self._client = client
        self._table = table

    def _key(self, user_id: str) -> dict[str, Any]:
        return {"pk": f"USER#{user_id}"}

    def totp_secret(self, user_id: str) -> TotpSecret | None:
        row = read_item(self._client, self._table, self._key(user_id))
        if not row or row.get("totp_secret") is None:
            return None
        sealed = row["totp_secret"]
        last = row.get("totp_last_step")
        return TotpSecret(
            bytes(getattr(sealed, "value", sealed)), None if last is None else int(last)
        )

    def enable_totp(
        self, user_id: str, ciphertext: bytes, now: float, step: int, recovery: list[str]
    ) -> bool:
        return self._update(
            user_id,
            "SET totp_secret = :secret, totp_enrolled_at = :now, totp_last_step = :step, "
            "recovery_codes = :codes",
            "attribute_exists(pk) AND attribute_not_exists(totp_enrolled_at)",
            {":secret": ciphertext, ":now": int(now), ":step": step, ":codes": set(recovery)},
        )

    def use_totp_step(self, user_id: str, step: int) -> bool:
        return self._update(
            user_id,
            "SET totp_last_step = :step",
            f"attribute_exists(totp_secret) AND {STEP_IS_FRESH}",
            {":step": step},
        )

    def remove_totp(self, user_id: str, *, passkeys_expected: bool = False) -> bool:
        # The recovery codes stand in for a stronger factor (domain/factors.py
        # codes_outlive_removal): they go with the app only when no passkey is left. Two
        # complementary conditional updates; `passkeys_expected` (what the account read
        # said) picks the one tried first, the other follows when the account changed since.
        last = (f"REMOVE {APP}, recovery_codes", f"{HAS_APP} AND {NO_PASSKEY}")
        keeps = (f"REMOVE {APP}", f"{HAS_APP} AND NOT {NO_PASSKEY}")
        values = {":binary": "B", ":zero": 0}
        for update, condition in (keeps, last) if passkeys_expected else (last, keeps):
            if self._update(user_id, update, condition, values):
                return True
        return False

    def give_recovery_codes(self, user_id: str, digests: list[str]) -> bool:
        return self._update(
            user_id,
            "SET recovery_codes = :codes",
            "attribute_exists(pk) AND attribute_not_exists(recovery_codes)",
            {":codes": set(digests)},
        )

    def spend_recovery_code(self, user_id: str, digest: str) -> bool:
        return self._update(
            user_id,
            "DELETE recovery_codes :spent",
            "contains(recovery_codes, :digest)",
            {":spent": {digest}, ":digest": digest},
        )

    def _update(self, user_id: str, update: str, condition: str, values: dict[str, Any]) -> bool:
        try:
            conditional_update(
                self._client, self._table, self._key(user_id), update, condition, values
            )
        except ConditionFailed:
            return False
        return True
