"""Passkeys in UsersTable and their ceremonies' challenges in VerificationsTable
(docs/factors.md#passkeys).

A credential is one item, `PASSKEY#<credential id>`: the id is unique across accounts by the
conditional put that creates it, and names its account (`user_id`). The account's item holds
the set of its ids (`passkey_ids`), changed in the same transaction, so the account's passkeys
are one GetItem and one BatchGetItem away and its size bounds how many it may hold.

A challenge is `webauthn#<digest of the challenge>`, TTL'd at its expiry: kept by a conditional
put, spent by a conditional DeleteItem whose condition is `challenge_usable`
(domain/passkeys.py) written for DynamoDB: the account, purpose and subject, before expiry."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    conditional_update,
    delete,
    dynamodb_errors,
    from_item,
    put_new,
    read_item,
    to_item,
    transact_write_retrying,
    update_request,
)
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.passkeys import (
    CeremonyPurpose,
    Passkey,
    PasskeyAlreadyRegistered,
    PasskeyChallenge,
    TooManyPasskeys,
)
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

PASSKEY = "PASSKEY#"
CHALLENGE = "webauthn#"
# Seconds a spent or expired challenge's item may outlive its expiry before TTL removes it.
CHALLENGE_RETENTION = 3_600
# codes_outlive_removal(passkeys_left=0, app_left=False): the passkey removed is the account's
# only one and it has no app, so its recovery codes go with it.
LAST_FACTOR = (
    "attribute_exists(pk) AND contains(passkey_ids, :pid) AND size(passkey_ids) = :one"
    " AND attribute_not_exists(totp_secret)"
)


def _user_key(user_id: str) -> dict[str, str]:
    return {"pk": f"USER#{user_id}"}


def _passkey_key(passkey_id: str) -> dict[str, str]:
    return {"pk": f"{PASSKEY}{passkey_id}"}


def passkey_from_row(row: dict[str, Any]) -> Passkey:
    return Passkey(
        passkey_id=str(row["pk"]).removeprefix(PASSKEY),
        user_id=str(row["user_id"]),
        public_key=bytes(row["public_key"]),
        sign_count=int(row["sign_count"]),
        transports=tuple(str(t) for t in row.get("transports", [])),
        created_at=float(row["created_at"]),
        last_used_at=float(row["last_used_at"]) if row.get("last_used_at") else None,
    )


class DynamoPasskeys:
    def __init__(self, client: DynamoDBClient, users_table: str) -> None:
        self._client = client
        self._table = users_table

    def add(self, passkey: Passkey, *, limit: int) -> None:
        row: dict[str, Any] = {
            **_passkey_key(passkey.passkey_id),
            "user_id": passkey.user_id,
            "public_key": passkey.public_key,
            "sign_count": passkey.sign_count,
            "transports": list(passkey.transports),
            "created_at": passkey.created_at,
        }
        put = {
            "Put": {
                "TableName": self._table,
                "Item": to_item(row),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }
        listed = {
            "Update": update_request(
                self._table,
                _user_key(passkey.user_id),
                "ADD passkey_ids :id",
                "attribute_exists(pk) AND "
                "(attribute_not_exists(passkey_ids) OR size(passkey_ids) < :limit)",
                {":id": {passkey.passkey_id}, ":limit": limit},
            )
        }
        reasons = transact_write_retrying(self._client, [put, listed])
        if reasons is None:
            return
        if reasons[0] == REASON_CONDITION_FAILED:
            raise PasskeyAlreadyRegistered()
        if reasons[1] == REASON_CONDITION_FAILED:
            raise TooManyPasskeys()
        raise StorageUnavailable()

    def of_account(self, user_id: str) -> list[Passkey]:
        account = read_item(self._client, self._table, _user_key(user_id))
        ids = sorted(account.get("passkey_ids") or []) if account else []
        if not ids:
            return []
        keys = [to_item(_passkey_key(str(i))) for i in ids]
        with dynamodb_errors():
            answer = self._client.batch_get_item(
                RequestItems={self._table: {"Keys": keys, "ConsistentRead": True}}
            )
        if answer.get("UnprocessedKeys"):
            raise StorageUnavailable()
        rows = [from_item(item) for item in answer.get("Responses", {}).get(self._table, [])]
        held = [passkey_from_row(r) for r in rows if r.get("user_id") == user_id]
        return sorted(held, key=lambda p: p.created_at)

    def get(self, passkey_id: str) -> Passkey | None:
        row = read_item(self._client, self._table, _passkey_key(passkey_id))
        return None if row is None else passkey_from_row(row)

    def record_use(self, passkey: Passkey, sign_count: int, used_at: float) -> bool:
        try:
            conditional_update(
                self._client,
                self._table,
                _passkey_key(passkey.passkey_id),
                "SET sign_count = :new, last_used_at = :at",
                "user_id = :user AND sign_count = :old",
                {
                    ":new": sign_count,
                    ":at": used_at,
                    ":user": passkey.user_id,
                    ":old": passkey.sign_count,
                },
            )
        except ConditionFailed:
            return False
        return True

    def remove(self, user_id: str, passkey_id: str, *, last_expected: bool = False) -> bool:
        # With the account's last stronger factor go its recovery codes (domain/factors.py
        # codes_outlive_removal): two complementary conditions on the account's update;
        # `last_expected` (what the account read said) picks the one tried first.
        last = ("DELETE passkey_ids :id REMOVE recovery_codes", LAST_FACTOR)
        keeps = ("DELETE passkey_ids :id", f"attribute_exists(pk) AND NOT ({LAST_FACTOR})")
        for update, condition in (last, keeps) if last_expected else (keeps, last):
            removed = self._remove(user_id, passkey_id, update, condition)
            if removed is not None:
                return removed
        return False

    def _remove(self, user_id: str, passkey_id: str, update: str, condition: str) -> bool | None:
        """True: removed; False: no such passkey of the account; None: the account's
        condition failed (the other one holds)."""
        gone = {
            "Delete": {
                "TableName": self._table,
                "Key": to_item(_passkey_key(passkey_id)),
                "ConditionExpression": "user_id = :user",
                "ExpressionAttributeValues": to_item({":user": user_id}),
            }
        }
        unlisted = {
            "Update": update_request(
                self._table,
                _user_key(user_id),
                update,
                condition,
                {":id": {passkey_id}, ":pid": passkey_id, ":one": 1},
            )
        }
        reasons = transact_write_retrying(self._client, [gone, unlisted])
        if reasons is None:
            return True
        if reasons[0] == REASON_CONDITION_FAILED:
            return False
        if reasons[1] == REASON_CONDITION_FAILED:
            return None
        raise StorageUnavailable()


class DynamoPasskeyChallenges:
    def __init__(self, client: DynamoDBClient, verifications_table: str) -> None:
        self._client = client
        self._table = verifications_table

    def put(self, challenge: PasskeyChallenge) -> None:
        row: dict[str, Any] = {
            "pk": f"{CHALLENGE}{challenge.key}",
            "purpose": challenge.purpose.value,
            "user_id": challenge.user_id,
            "subject": challenge.subject,
            "expires_at": challenge.expires_at,
            "ttl": int(challenge.expires_at) + CHALLENGE_RETENTION,
        }
        if challenge.nonce is not None:
            row["nonce"] = challenge.nonce
        try:
            put_new(self._client, self._table, row, "pk")
        except ConditionFailed:  # 256 random bits (or a fresh nonce's digest) met again
            raise StorageUnavailable() from None

    def spend(
        self, key: str, *, user_id: str, purpose: CeremonyPurpose, subject: str, now: float
    ) -> PasskeyChallenge | None:
        try:
            row = delete(
                self._client,
                self._table,
                {"pk": f"{CHALLENGE}{key}"},
                condition="user_id = :user AND purpose = :purpose AND subject = :subject "
                "AND expires_at > :now",
                values={
                    ":user": user_id,
                    ":purpose": purpose.value,
                    ":subject": subject,
                    ":now": now,
                },
                returns="ALL_OLD",
            )
        except ConditionFailed:
            return None
        return PasskeyChallenge(
            key=key,
            purpose=CeremonyPurpose(str(row["purpose"])),
            user_id=str(row["user_id"]),
            subject=str(row["subject"]),
            expires_at=float(row["expires_at"]),
            nonce=bytes(row["nonce"]) if row.get("nonce") is not None else None,
        )
