"""The account's stronger factors (docs/factors.md): one contract run against the in-memory
fake, moto and DynamoDB Local, so the replay rule and the one-time recovery codes cannot differ
between them; and the Encryption port over moto's KMS and a key from SSM."""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.factors import DynamoAccountFactors
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.adapters.encryption import KmsEncryption, SsmKeyEncryption
from phoneverify.domain.factor_errors import DecryptionFailed
from phoneverify.domain.factors import FactorKind, enrolled_factors
from phoneverify.domain.models import User
from phoneverify.ports.factors import AccountFactors, Encryption
from tests.support.factors import InMemoryAccountFactors
from tests.support.fakes import InMemoryUsers
from tests.support.tables import fresh_table

Store = tuple[AccountFactors, Any]  # the factors, and the users they are read back through


def new_user() -> User:
    return User(str(uuid.uuid4()), f"{uuid.uuid4().hex}@example.com", "$2b$04$hash", "+14155550100")


def dynamo(client: Any) -> Store:
    table = fresh_table(client, "UsersTable", "f")
    return DynamoAccountFactors(client, table), DynamoUserRepository(client, table)


@pytest.fixture(params=["fake", "moto", "dynamodb-local"])
def store(request: pytest.FixtureRequest) -> Iterator[tuple[AccountFactors, Any, User]]:
    user = new_user()
    if request.param == "fake":
        users = InMemoryUsers(user)
        yield InMemoryAccountFactors(users), users, user
    elif request.param == "moto":
        with mock_aws():
            factors, users = dynamo(boto3.client("dynamodb", region_name="us-east-1"))
            users.put_user(user)
            yield factors, users, user
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        factors, users = dynamo(client)
        users.put_user(user)
        yield factors, users, user


def test_an_app_is_kept_once_and_read_back_with_its_last_step(
    store: tuple[AccountFactors, Any, User],
) -> None:
    factors, users, user = store
    assert factors.totp_secret(user.user_id) is None
    assert factors.enable_totp(user.user_id, b"\x00sealed", 1_000.0, 7, ["d1", "d2"])
    # a second app is refused by the same write
    assert not factors.enable_totp(user.user_id, b"other", 1_001.0, 8, ["d3"])
    held = factors.totp_secret(user.user_id)
    assert held is not None and (held.ciphertext, held.last_step) == (b"\x00sealed", 7)
    read = users.get(user.user_id)
    assert read.totp_enrolled_at == 1_000.0 and read.recovery_codes_left == 2
    assert enrolled_factors(read) == (FactorKind.TOTP, FactorKind.SMS, FactorKind.RECOVERY)
    # no account: nothing written
    assert not factors.enable_totp("no-such-user", b"x", 1.0, 1, ["d"])


def test_a_step_is_used_once_and_never_an_earlier_one(
    store: tuple[AccountFactors, Any, User],
) -> None:
    factors, _, user = store
    assert not factors.use_totp_step(user.user_id, 9)  # no app yet
    factors.enable_totp(user.user_id, b"sealed", 1_000.0, 7, ["d1"])
    assert not factors.use_totp_step(user.user_id, 7)  # the enrolment's own code
    assert factors.use_totp_step(user.user_id, 8)
    assert not factors.use_totp_step(user.user_id, 8)  # replayed
    assert not factors.use_totp_step(user.user_id, 6)  # earlier
    assert factors.use_totp_step(user.user_id, 10)


def test_racing_requests_with_one_code_use_its_step_once(
    store: tuple[AccountFactors, Any, User],
) -> None:
    factors, _, user = store
    factors.enable_totp(user.user_id, b"sealed", 1_000.0, 7, ["d1"])
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: factors.use_totp_step(user.user_id, 8), range(8)))
    assert outcomes.count(True) == 1


def test_a_recovery_code_is_spent_once(store: tuple[AccountFactors, Any, User]) -> None:
    factors, users, user = store
    factors.enable_totp(user.user_id, b"sealed", 1_000.0, 7, ["d1", "d2"])
    assert factors.spend_recovery_code(user.user_id, "d1")
    assert not factors.spend_recovery_code(user.user_id, "d1")
    assert not factors.spend_recovery_code(user.user_id, "never")
    assert users.get(user.user_id).recovery_codes_left == 1
    assert factors.spend_recovery_code(user.user_id, "d2")
    assert users.get(user.user_id).recovery_codes_left == 0


def test_removal_takes_the_app_and_the_recovery_codes(
    store: tuple[AccountFactors, Any, User],
) -> None:
    factors, users, user = store
    assert not factors.remove_totp(user.user_id)
    factors.enable_totp(user.user_id, b"sealed", 1_000.0, 7, ["d1"])
    assert factors.remove_totp(user.user_id)
    assert not factors.remove_totp(user.user_id)
    assert factors.totp_secret(user.user_id) is None
    assert enrolled_factors(users.get(user.user_id)) == (FactorKind.SMS,)
    # and a new app may be enrolled after
    assert factors.enable_totp(user.user_id, b"again", 2_000.0, 1, ["d9"])


def give_passkey(users: Any, user: User, passkey_id: str) -> None:
    """A passkey on the account as the passkeys' store keeps it (its id in `passkey_ids`)."""
    if isinstance(users, InMemoryUsers):
        held = users.get(user.user_id)
        users.replace(replace(held, passkey_count=held.passkey_count + 1))
        return
    users._client.update_item(
        TableName=users._table,
        Key={"pk": {"S": f"USER#{user.user_id}"}},
        UpdateExpression="ADD passkey_ids :id",
        ExpressionAttributeValues={":id": {"SS": [passkey_id]}},
    )


@pytest.mark.parametrize("expected", [True, False], ids=["expected", "unexpected"])
def test_removing_the_app_keeps_the_codes_while_a_passkey_remains(
    store: tuple[AccountFactors, Any, User], expected: bool
) -> None:
    factors, users, user = store
    factors.enable_totp(user.user_id, b"sealed", 1_000.0, 7, ["d1", "d2"])
    give_passkey(users, user, "cred-1")
    # Whichever write the account read made it try first, the condition decides
    assert factors.remove_totp(user.user_id, passkeys_expected=expected)
    assert factors.totp_secret(user.user_id) is None
    assert users.get(user.user_id).recovery_codes_left == 2
    assert not factors.remove_totp(user.user_id, passkeys_expected=expected)


@pytest.mark.parametrize("expected", [True, False], ids=["stale-read", "fresh-read"])
def test_removing_the_last_factor_takes_the_codes_whatever_the_read_said(
    store: tuple[AccountFactors, Any, User], expected: bool
) -> None:
    factors, users, user = store
    factors.enable_totp(user.user_id, b"sealed", 1_000.0, 7, ["d1", "d2"])
    assert factors.remove_totp(user.user_id, passkeys_expected=expected)
    assert users.get(user.user_id).recovery_codes_left == 0


class _Secrets:
    def __init__(self, value: str) -> None:
        self.value = value

    def get(self, name: str) -> str:
        return self.value


@pytest.fixture(params=["kms", "ssm-key"])
def encryption(request: pytest.FixtureRequest) -> Iterator[Encryption]:
    if request.param == "kms":
        with mock_aws():
            kms = boto3.client("kms", region_name="us-east-1")
            key = kms.create_key(KeyUsage="ENCRYPT_DECRYPT")["KeyMetadata"]["KeyId"]
            yield KmsEncryption(kms, key)
    else:
        yield SsmKeyEncryption(_Secrets(base64.b64encode(os.urandom(32)).decode()), "p")


def test_a_secret_decrypts_only_under_its_own_context(encryption: Encryption) -> None:
    mine = {"user_id": "u-1", "factor": "totp"}
    sealed = encryption.encrypt(b"JBSWY3DPEHPK3PXP", mine)
    assert b"JBSWY3DPEHPK3PXP" not in sealed
    assert encryption.decrypt(sealed, mine) == b"JBSWY3DPEHPK3PXP"
    # Attack: the ciphertext copied onto another account's item
    with pytest.raises(DecryptionFailed):
        encryption.decrypt(sealed, {"user_id": "u-2", "factor": "totp"})
    with pytest.raises(DecryptionFailed):
        encryption.decrypt(sealed[:-1] + bytes([sealed[-1] ^ 1]), mine)
