"""DynamoUserRepository: one account per email and per phone, enforced by one transaction.

Run on moto and on AWS's DynamoDB Local (the real engine for the race); provider failures are
scripted with botocore's Stubber.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.errors import (
    EmailAlreadyRegistered,
    PasswordSuperseded,
    PhoneAlreadyRegistered,
    StorageUnavailable,
)
from phoneverify.domain.models import User
from phoneverify.http.errors import status_of
from tests.support.tables import fresh_table

PHONE = "+14155550199"


def user(email: str = "ada@example.com", phone: str | None = PHONE, **changes: Any) -> User:
    values: dict[str, Any] = {
        "user_id": str(uuid.uuid4()),
        "email": email,
        "password_hash": "$2b$04$hash",
        "phone_number": phone,
        "name": "Ada",
    }
    values.update(changes)
    return User(**values)


def repository(client: Any) -> DynamoUserRepository:
    return DynamoUserRepository(client, fresh_table(client, "UsersTable", "u"))


@pytest.fixture(params=["moto", "dynamodb-local"])
def users(request: pytest.FixtureRequest) -> Iterator[DynamoUserRepository]:
    if request.param == "moto":
        with mock_aws():
            yield repository(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        yield repository(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"))


def test_an_account_is_found_by_its_email_and_by_its_phone(users: DynamoUserRepository) -> None:
    created = user()
    users.put_user(created, phone_verified_at=1_800_000_000)
    assert users.find_by_email("ada@example.com") == created
    assert users.find_by_phone(PHONE) == created
    assert users.find_by_phone("+14155550100") is None


@pytest.mark.parametrize(
    ("second", "error"),
    [
        (user(phone="+14155550100"), EmailAlreadyRegistered),
        (user(email="other@example.com"), PhoneAlreadyRegistered),
        (user(), PhoneAlreadyRegistered),  # the phone wins: its prover should sign in
    ],
    ids=["same-email", "same-phone", "both"],
)
def test_a_taken_email_or_phone_refuses_the_whole_account(
    users: DynamoUserRepository, second: User, error: type[Exception]
) -> None:
    # Given
    first = user()
    users.put_user(first, phone_verified_at=1)
    # When
    with pytest.raises(error):
        users.put_user(second, phone_verified_at=2)
    # Then nothing of the second account was written
    assert users.find_by_email(second.email) in (first, None)
    assert users.find_by_phone(str(second.phone_number)) in (first, None)


def test_writing_the_same_account_twice_is_done_once(users: DynamoUserRepository) -> None:
    # A retry after a lost response (or seeding run twice) finds its own user id taken.
    created = user()
    users.put_user(created, phone_verified_at=1)
    users.put_user(created, phone_verified_at=1)
    assert users.find_by_email(created.email) == created


def test_twenty_racing_accounts_for_one_email_make_one(dynamodb_local_endpoint: str) -> None:
    # Given
    users = repository(
        boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint, region_name="us-east-1")
    )

    def register(i: int) -> str:
        try:
            users.put_user(user(phone=f"+1415555{i:04d}"), phone_verified_at=1)
        except EmailAlreadyRegistered:
            return "409"
        return "created"

    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = Counter(pool.map(register, range(100, 120)))
    # Then
    assert outcomes == {"created": 1, "409": 19}


def test_a_reset_sets_the_password_only_under_the_generation_it_started_in(
    users: DynamoUserRepository,
) -> None:
    # Given an account, read by two resets before either set a password
    created = user()
    users.put_user(created)
    started_under = users.get(created.user_id).password_generation  # type: ignore[union-attr]
    # When one sets its password, then the other
    users.reset_password(created.user_id, "$2b$04$first", 1, started_under)
    with pytest.raises(PasswordSuperseded) as second:
        users.reset_password(created.user_id, "$2b$04$second", 2, started_under)
    # Then the first holds, every token was ended once, and the other is a 400
    after = users.get(created.user_id)
    assert after is not None and after.password_hash == "$2b$04$first"
    assert (after.password_generation, after.token_generation) == (1, 1)
    assert status_of(second.value) == 400
    with pytest.raises(PasswordSuperseded):
        users.reset_password("no-such-user", "$2b$04$x", 3, 0)


def test_twenty_racing_resets_of_one_account_set_one_password(dynamodb_local_endpoint: str) -> None:
    # Given an account whose 20 pending resets were all started under generation 0
    users = repository(
        boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint, region_name="us-east-1")
    )
    created = user()
    users.put_user(created)

    def reset(i: int) -> str:
        try:
            users.reset_password(created.user_id, f"$2b$04$hash{i}", 1, 0)
        except PasswordSuperseded:
            return "superseded"
        return f"reset {i}"

    # When all of them set their password at once
    with ThreadPoolExecutor(max_workers=20) as pool:
        outcomes = list(pool.map(reset, range(20)))
    # Then exactly one did, and the password that holds is that one's
    winners = [o for o in outcomes if o.startswith("reset")]
    assert len(winners) == 1 and outcomes.count("superseded") == 19
    after = users.get(created.user_id)
    assert after is not None
    assert after.password_hash == f"$2b$04$hash{winners[0].split()[1]}"
    assert after.token_generation == 1


def cancelled(*reasons: str) -> dict[str, Any]:
    return {
        "service_error_code": "TransactionCanceledException",
        "service_message": "Transaction cancelled",
        "modeled_fields": {"CancellationReasons": [{"Code": r} for r in reasons]},
    }


@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoUserRepository, Stubber]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield DynamoUserRepository(client, "UsersTable"), stubber


def test_a_transaction_conflict_is_retried_once(
    stubbed: tuple[DynamoUserRepository, Stubber],
) -> None:
    users, stubber = stubbed
    stubber.add_client_error(
        "transact_write_items", **cancelled("None", "TransactionConflict", "None")
    )
    stubber.add_response("transact_write_items", {})
    users.put_user(user(), phone_verified_at=1)
    stubber.assert_no_pending_responses()


def test_a_conflict_that_persists_is_a_503_not_a_500(
    stubbed: tuple[DynamoUserRepository, Stubber],
) -> None:
    users, stubber = stubbed
    for _ in range(2):
        stubber.add_client_error(
            "transact_write_items", **cancelled("None", "None", "TransactionConflict")
        )
    with pytest.raises(StorageUnavailable) as caught:
        users.put_user(user(), phone_verified_at=1)
    assert status_of(caught.value) == 503


def test_the_retry_after_a_conflict_can_find_the_phone_taken(
    stubbed: tuple[DynamoUserRepository, Stubber],
) -> None:
    users, stubber = stubbed
    stubber.add_client_error(
        "transact_write_items", **cancelled("None", "None", "TransactionConflict")
    )
    stubber.add_client_error(
        "transact_write_items", **cancelled("None", "None", "ConditionalCheckFailed")
    )
    with pytest.raises(PhoneAlreadyRegistered):
        users.put_user(user(), phone_verified_at=1)


def test_throttling_is_a_503(stubbed: tuple[DynamoUserRepository, Stubber]) -> None:
    users, stubber = stubbed
    stubber.add_client_error(
        "transact_write_items", service_error_code="ProvisionedThroughputExceededException"
    )
    with pytest.raises(StorageUnavailable):
        users.put_user(user(), phone_verified_at=1)
