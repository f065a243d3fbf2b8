"""One contract for the proof-of-work gate's replay store: the in-memory fake the unit tests
use, and the DynamoDB adapter on moto and on AWS's DynamoDB Local (the real engine, for the
race): a solved challenge is accepted once, however many requests carry it at once."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from phoneverify.adapters.dynamo.spent_proofs import DynamoSpentProofs
from phoneverify.adapters.proof_of_work import AltchaHumanCheck, SpentProofs
from phoneverify.domain.errors import ChallengeInvalid, StorageUnavailable
from tests.support.fakes import FakeClock
from tests.support.proofs import InMemorySpentProofs, solve
from tests.support.tables import rate_limits_table

KEY = "an integration key of the proof-of-work gate, 32+ bytes"


def dynamo(client: Any) -> tuple[DynamoSpentProofs, Any, str]:
    table = rate_limits_table(client)
    return DynamoSpentProofs(client, table), client, table


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def store(request: pytest.FixtureRequest) -> Iterator[tuple[SpentProofs, Any, str]]:
    yield from stores(request)


@pytest.fixture(params=["memory", "dynamodb-local"])
def racing(request: pytest.FixtureRequest) -> Iterator[tuple[SpentProofs, Any, str]]:
    """Races need a real engine: moto does not apply conditions atomically across threads."""
    yield from stores(request)


def stores(request: pytest.FixtureRequest) -> Iterator[tuple[SpentProofs, Any, str]]:
    if request.param == "memory":
        yield InMemorySpentProofs(), None, ""
        return
    if request.param == "moto":
        with mock_aws():
            yield dynamo(boto3.client("dynamodb", region_name="us-east-1"))
        return
    endpoint = request.getfixturevalue("dynamodb_local_endpoint")
    yield dynamo(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"))


def checker(spent: SpentProofs) -> tuple[AltchaHumanCheck, FakeClock]:
    clock = FakeClock()
    check = AltchaHumanCheck(lambda: KEY, spent, clock, max_number=1_000, expires_secs=300)
    return check, clock


def test_a_solution_is_spent_once(store: tuple[SpentProofs, Any, str]) -> None:
    spent, client, table = store
    check, clock = checker(spent)
    payload = solve(check.issue())
    # When it is sent twice
    check.verify(payload)
    with pytest.raises(ChallengeInvalid, match="already used"):
        check.verify(payload)
    # Then another solution is still good
    check.verify(solve(check.issue()))
    if client is not None:
        # and the item is the agreed one: altcha#<sha256>, expiring with the challenge
        items = client.scan(TableName=table)["Items"]
        assert len(items) == 2
        for item in items:
            assert item["pk"]["S"].startswith("altcha#") and len(item["pk"]["S"]) == 7 + 64
            assert int(item["ttl"]["N"]) == int(clock.now()) + 300


def test_the_same_solution_sent_at_once_is_accepted_once(
    racing: tuple[SpentProofs, Any, str],
) -> None:
    spent, _, _ = racing
    check, _ = checker(spent)
    payload = solve(check.issue())

    def send(_: int) -> bool:
        try:
            check.verify(payload)
        except ChallengeInvalid:
            return False
        return True

    with ThreadPoolExecutor(max_workers=10) as pool:
        accepted = list(pool.map(send, range(20)))
    assert accepted.count(True) == 1


def test_an_unreachable_table_is_an_outage_not_an_acceptance() -> None:
    client = boto3.client(
        "dynamodb",
        endpoint_url="http://127.0.0.1:9",  # nothing listens on the discard port
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    check, _ = checker(DynamoSpentProofs(client, "RateLimitsTable"))
    with pytest.raises(StorageUnavailable):
        check.verify(solve(check.issue()))
