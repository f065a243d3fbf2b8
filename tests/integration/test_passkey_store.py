"""One contract for the passkeys' stores (docs/factors.md#passkeys): the in-memory fakes the
unit tests use and the DynamoDB adapters on moto and DynamoDB Local. A credential id is held by
one account; an account holds a bounded number; the counter moves only from the value read;
only the holder removes its passkey; a challenge is spent once, by its account, purpose and
subject, before it expires (a race of many spends: one wins, on the real engine)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.passkeys import DynamoPasskeyChallenges, DynamoPasskeys
from phoneverify.adapters.dynamo.toolkit import to_item
from phoneverify.domain.passkeys import (
    CeremonyPurpose,
    Passkey,
    PasskeyAlreadyRegistered,
    PasskeyChallenge,
    TooManyPasskeys,
)
from phoneverify.ports.passkeys import PasskeyChallenges, PasskeyStore
from tests.support.passkeys import InMemoryPasskeyChallenges, InMemoryPasskeys
from tests.support.tables import fresh_table

NOW = 1_800_000_000.0


@dataclass
class Stores:
    passkeys: PasskeyStore
    challenges: PasskeyChallenges


def dynamo(client: Any) -> Stores:
    users = fresh_table(client, "UsersTable")
    flows = fresh_table(client, "VerificationsTable")
    for user_id in ("u-1", "u-2"):
        client.put_item(TableName=users, Item=to_item({"pk": f"USER#{user_id}"}))
    return Stores(DynamoPasskeys(client, users), DynamoPasskeyChallenges(client, flows))


def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    if request.param == "memory":
        yield Stores(InMemoryPasskeys(), InMemoryPasskeyChallenges())
        return
    if request.param == "moto":
        with mock_aws():
            yield dynamo(boto3.client("dynamodb", region_name="us-east-1"))
        return
    endpoint = request.getfixturevalue("dynamodb_local_endpoint")
    yield dynamo(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"))


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def store(request: pytest.FixtureRequest) -> Iterator[Stores]:
    yield from stores(request)


@pytest.fixture(params=["memory", "dynamodb-local"])
def racing(request: pytest.FixtureRequest) -> Iterator[Stores]:
    yield from stores(request)


def passkey(passkey_id: str = "cred-1", user_id: str = "u-1", at: float = NOW) -> Passkey:
    return Passkey(passkey_id, user_id, b"\xa5cose-key", 0, ("internal",), at)


def challenge(key: str = "k1", **changes: Any) -> PasskeyChallenge:
    values: dict[str, Any] = {
        "key": key,
        "purpose": CeremonyPurpose.PAYMENT,
        "user_id": "u-1",
        "subject": "pay-1",
        "expires_at": NOW + 300,
        "nonce": b"\x01" * 32,
    }
    return PasskeyChallenge(**{**values, **changes})


def test_a_passkey_is_kept_listed_and_read_back(store: Stores) -> None:
    store.passkeys.add(passkey("cred-1", at=NOW), limit=10)
    store.passkeys.add(passkey("cred-2", at=NOW + 1), limit=10)
    assert [p.passkey_id for p in store.passkeys.of_account("u-1")] == ["cred-1", "cred-2"]
    assert store.passkeys.get("cred-1") == passkey("cred-1")
    assert store.passkeys.of_account("u-2") == []


def test_a_credential_id_is_held_by_one_account(store: Stores) -> None:
    store.passkeys.add(passkey("cred-1", "u-1"), limit=10)
    with pytest.raises(PasskeyAlreadyRegistered):
        store.passkeys.add(passkey("cred-1", "u-2"), limit=10)
    assert store.passkeys.of_account("u-2") == []
    assert store.passkeys.get("cred-1") == passkey("cred-1", "u-1")


def test_an_account_holds_at_most_the_limit(store: Stores) -> None:
    store.passkeys.add(passkey("cred-1"), limit=2)
    store.passkeys.add(passkey("cred-2"), limit=2)
    with pytest.raises(TooManyPasskeys):
        store.passkeys.add(passkey("cred-3"), limit=2)
    assert store.passkeys.get("cred-3") is None


def test_the_counter_moves_only_from_the_value_read(store: Stores) -> None:
    store.passkeys.add(passkey(), limit=10)
    read = store.passkeys.get("cred-1")
    assert read is not None
    assert store.passkeys.record_use(read, 5, NOW + 10)
    assert not store.passkeys.record_use(read, 6, NOW + 11)  # a clone racing from the old value
    after = store.passkeys.get("cred-1")
    assert after is not None and (after.sign_count, after.last_used_at) == (5, NOW + 10)


def test_only_the_holder_removes_its_passkey(store: Stores) -> None:
    store.passkeys.add(passkey(), limit=10)
    assert not store.passkeys.remove("u-2", "cred-1")
    assert store.passkeys.get("cred-1") is not None
    assert store.passkeys.remove("u-1", "cred-1")
    assert store.passkeys.of_account("u-1") == []
    assert not store.passkeys.remove("u-1", "cred-1")
    store.passkeys.add(passkey(), limit=1)  # its place is free again


@pytest.mark.parametrize(
    "refused",
    [
        {"user_id": "u-2"},
        {"purpose": CeremonyPurpose.LOGIN},
        {"subject": "pay-2"},
        {"now": NOW + 300},
    ],
    ids=["another-account", "another-purpose", "another-subject", "expired"],
)
def test_a_challenge_is_spent_once_by_its_account_purpose_and_subject_before_expiry(
    store: Stores, refused: dict[str, Any]
) -> None:
    store.challenges.put(challenge())
    asked: dict[str, Any] = {
        "user_id": "u-1",
        "purpose": CeremonyPurpose.PAYMENT,
        "subject": "pay-1",
        "now": NOW,
    }
    assert store.challenges.spend("k1", **{**asked, **refused}) is None
    assert store.challenges.spend("k1", **asked) == challenge()
    assert store.challenges.spend("k1", **asked) is None  # spent
    assert store.challenges.spend("unknown", **asked) is None


def test_racing_spends_of_one_challenge_make_one_winner(racing: Stores) -> None:
    racing.challenges.put(challenge())

    def spend(_: int) -> bool:
        spent = racing.challenges.spend(
            "k1", user_id="u-1", purpose=CeremonyPurpose.PAYMENT, subject="pay-1", now=NOW
        )
        return spent is not None

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(spend, range(16))) == 1


@pytest.fixture(params=["moto", "dynamodb-local"])
def dynamo_store(request: pytest.FixtureRequest) -> Iterator[tuple[Stores, Any]]:
    if request.param == "moto":
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            yield dynamo(client), client
        return
    endpoint = request.getfixturevalue("dynamodb_local_endpoint")
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    yield dynamo(client), client


def _account(client: Any, stores: Stores) -> dict[str, Any]:
    table = stores.passkeys._table  # type: ignore[attr-defined]
    item = client.get_item(TableName=table, Key={"pk": {"S": "USER#u-1"}}, ConsistentRead=True)
    return dict(item["Item"])


def _give_codes(client: Any, stores: Stores, *extra: str) -> None:
    table = stores.passkeys._table  # type: ignore[attr-defined]
    client.update_item(
        TableName=table,
        Key={"pk": {"S": "USER#u-1"}},
        UpdateExpression="SET recovery_codes = :codes" + "".join(f", {e}" for e in extra),
        ExpressionAttributeValues={":codes": {"SS": ["d1", "d2"]}}
        | ({":app": {"B": b"sealed"}} if extra else {}),
    )


@pytest.mark.parametrize("expected", [True, False], ids=["expected", "unexpected"])
def test_the_last_passkey_takes_the_recovery_codes_another_keeps_them(
    dynamo_store: tuple[Stores, Any], expected: bool
) -> None:
    stores, client = dynamo_store
    stores.passkeys.add(passkey("cred-1"), limit=10)
    stores.passkeys.add(passkey("cred-2", at=NOW + 1), limit=10)
    _give_codes(client, stores)
    # Another passkey remains: the codes stay, whichever write was tried first
    assert stores.passkeys.remove("u-1", "cred-1", last_expected=expected)
    assert "recovery_codes" in _account(client, stores)
    # The last one: they go with it
    assert stores.passkeys.remove("u-1", "cred-2", last_expected=not expected)
    assert "recovery_codes" not in _account(client, stores)
    assert not stores.passkeys.remove("u-1", "cred-2", last_expected=expected)


def test_the_last_passkey_keeps_the_codes_while_the_app_remains(
    dynamo_store: tuple[Stores, Any],
) -> None:
    stores, client = dynamo_store
    stores.passkeys.add(passkey("cred-1"), limit=10)
    _give_codes(client, stores, "totp_secret = :app")
    assert stores.passkeys.remove("u-1", "cred-1", last_expected=True)
    assert "recovery_codes" in _account(client, stores)
