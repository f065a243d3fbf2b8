"""DynamoTokenRevocations: ending one token or every token of an account, and the check that
reads both in one BatchGetItem. On moto and on AWS's DynamoDB Local; provider failures are
scripted with botocore's Stubber."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from phoneverify.adapters.dynamo.revocations import DynamoTokenRevocations
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import User
from phoneverify.domain.tokens import TokenClaims
from tests.support.fakes import FakeClock
from tests.support.tables import fresh_table


@dataclass
class Tables:
    client: Any
    names: dict[str, str]
    clock: FakeClock
    revocations: DynamoTokenRevocations
    users: DynamoUserRepository

    def account(self) -> str:
        user_id = f"u-{uuid.uuid4().hex[:8]}"
        self.users.put_user(User(user_id, f"{user_id}@example.com", "$2b$04$hash"))
        return user_id

    def token(self, user_id: str, generation: int = 0, lifetime: int = 3600) -> TokenClaims:
        now = int(self.clock.now())
        return TokenClaims(user_id, uuid.uuid4().hex, now, now + lifetime, generation)


def tables_on(client: Any) -> Tables:
    names = {table: fresh_table(client, table) for table in ("UsersTable", "RevokedTokensTable")}
    clock = FakeClock()
    revocations = DynamoTokenRevocations(
        client, names["UsersTable"], names["RevokedTokensTable"], clock
    )
    return Tables(
        client, names, clock, revocations, DynamoUserRepository(client, names["UsersTable"])
    )


@pytest.fixture(params=["moto", "dynamodb-local"])
def tables(request: pytest.FixtureRequest) -> Iterator[Tables]:
    if request.param == "moto":
        with mock_aws():
            yield tables_on(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        yield tables_on(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"))


def test_a_token_is_active_until_it_is_ended(tables: Tables) -> None:
    # Given two tokens of one account
    user_id = tables.account()
    first, second = tables.token(user_id), tables.token(user_id)
    assert tables.revocations.is_active(first)
    # When the first is logged out (twice, as a retried request would)
    tables.revocations.end_token(first.jti, first.expires_at)
    tables.revocations.end_token(first.jti, first.expires_at)
    # Then only it is refused
    assert tables.revocations.refusal(first) == "token_ended"
    assert tables.revocations.is_active(second)


def test_the_logout_record_expires_with_the_token(tables: Tables) -> None:
    user_id = tables.account()
    token = tables.token(user_id)
    tables.revocations.end_token(token.jti, token.expires_at)
    item = tables.client.get_item(
        TableName=tables.names["RevokedTokensTable"], Key={"jti": {"S": token.jti}}
    )["Item"]
    assert item == {"jti": {"S": token.jti}, "ttl": {"N": str(token.expires_at)}}
    # TTL deletion lags: past its ttl the record counts as gone (the token has expired anyway)
    tables.clock.advance(3600)
    assert tables.revocations.refusal(token) is None


def test_ending_every_token_refuses_those_issued_before_and_not_after(tables: Tables) -> None:
    # Given a token of each of two accounts
    mine, theirs = tables.account(), tables.account()
    old, other = tables.token(mine), tables.token(theirs)
    # When every token of the first account is ended
    tables.revocations.end_all_tokens(mine)
    # Then
    assert tables.revocations.refusal(old) == "all_tokens_ended"
    assert tables.revocations.is_active(other)
    user = tables.users.get(mine)
    assert user is not None and user.token_generation == 1  # what the next login issues with
    assert tables.revocations.is_active(tables.token(mine, generation=1))


def test_ending_every_token_of_an_account_that_does_not_exist_creates_nothing(
    tables: Tables,
) -> None:
    tables.revocations.end_all_tokens("nobody")
    assert tables.users.get("nobody") is None
    assert tables.client.scan(TableName=tables.names["UsersTable"])["Items"] == []


def test_a_token_of_an_account_that_no_longer_exists_is_refused(tables: Tables) -> None:
    assert tables.revocations.refusal(tables.token("gone")) == "account_gone"


def test_a_check_is_one_batch_get_item(tables: Tables) -> None:
    # Given
    user_id = tables.account()
    token = tables.token(user_id)
    calls: list[str] = []
    tables.client.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    # When
    tables.revocations.is_active(token)
    # Then
    assert calls == ["BatchGetItem"]


# -- provider failures (scripted) ---------------------------------------------------------
@pytest.fixture
def stubbed() -> Iterator[tuple[DynamoTokenRevocations, Stubber]]:
    client = boto3.client("dynamodb", region_name="us-east-1")
    with Stubber(client) as stubber:
        yield DynamoTokenRevocations(client, "Users", "Revoked", FakeClock()), stubber


def claims() -> TokenClaims:
    return TokenClaims("u-1", "j-1", 1_800_000_000, 1_800_003_600, 0)


USER_ITEM = {"pk": {"S": "USER#u-1"}}


def test_unprocessed_keys_are_asked_for_once_more(
    stubbed: tuple[DynamoTokenRevocations, Stubber],
) -> None:
    revocations, stubber = stubbed
    revoked_keys = {"Keys": [{"jti": {"S": "j-1"}}]}
    # Given DynamoDB answers the user but leaves the token's key for later
    stubber.add_response(
        "batch_get_item",
        {"Responses": {"Users": [USER_ITEM]}, "UnprocessedKeys": {"Revoked": revoked_keys}},
    )
    stubber.add_response(
        "batch_get_item",
        {"Responses": {"Revoked": [{"jti": {"S": "j-1"}, "ttl": {"N": "1800003600"}}]}},
        {"RequestItems": {"Revoked": revoked_keys}},
    )
    # When / Then the second answer counts
    assert revocations.refusal(claims()) == "token_ended"
    stubber.assert_no_pending_responses()


def test_keys_still_unprocessed_after_the_retry_make_the_check_unavailable(
    stubbed: tuple[DynamoTokenRevocations, Stubber],
) -> None:
    revocations, stubber = stubbed
    left = {"Revoked": {"Keys": [{"jti": {"S": "j-1"}}]}}
    stubber.add_response(
        "batch_get_item", {"Responses": {"Users": [USER_ITEM]}, "UnprocessedKeys": left}
    )
    stubber.add_response("batch_get_item", {"Responses": {}, "UnprocessedKeys": left})
    with pytest.raises(StorageUnavailable):
        revocations.refusal(claims())


@pytest.mark.parametrize(
    "code",
    ["ProvisionedThroughputExceededException", "ThrottlingException", "AccessDeniedException"],
)
def test_a_failed_read_is_unavailable_never_a_guess(
    stubbed: tuple[DynamoTokenRevocations, Stubber], code: str
) -> None:
    revocations, stubber = stubbed
    stubber.add_client_error("batch_get_item", service_error_code=code)
    with pytest.raises(StorageUnavailable):
        revocations.refusal(claims())


def test_a_throttled_logout_is_unavailable(
    stubbed: tuple[DynamoTokenRevocations, Stubber],
) -> None:
    revocations, stubber = stubbed
    stubber.add_client_error("update_item", service_error_code="ThrottlingException")
    with pytest.raises(StorageUnavailable):
        revocations.end_all_tokens("u-1")
