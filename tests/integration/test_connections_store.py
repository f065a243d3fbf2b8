"""One contract for every WatcherRegistry (docs/realtime.md): the in-memory fake the unit tests
use, the DynamoDB registry on moto, and on AWS's DynamoDB Local (the real engine for races)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.connections import DynamoWatcherRegistry
from phoneverify.ports.verifications import WatcherRegistry
from tests.support.fakes import InMemoryWatcherRegistry
from tests.support.tables import fresh_table

NOW = 1_800_000_000.0
TTL = int(NOW) + 300


def dynamo_registry(client: Any) -> DynamoWatcherRegistry:
    return DynamoWatcherRegistry(client, fresh_table(client, "ConnectionsTable"))


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def registry(request: pytest.FixtureRequest) -> Iterator[WatcherRegistry]:
    if request.param == "memory":
        yield InMemoryWatcherRegistry()
    elif request.param == "moto":
        with mock_aws():
            yield dynamo_registry(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        yield dynamo_registry(client)


def test_a_flow_s_watchers_are_its_own_up_to_the_cap(registry: WatcherRegistry) -> None:
    assert registry.add("flow-a", "c1", ttl=TTL, cap=2, now=NOW)
    assert registry.add("flow-a", "c2", ttl=TTL, cap=2, now=NOW)
    assert not registry.add("flow-a", "c3", ttl=TTL, cap=2, now=NOW)
    assert registry.add("flow-b", "c3", ttl=TTL, cap=2, now=NOW)
    assert registry.watchers("flow-a", NOW) == ["c1", "c2"]
    assert registry.watchers("flow-b", NOW) == ["c3"]
    assert registry.watchers("flow-unknown", NOW) == []


def test_remove_and_drop_forget_a_connection(registry: WatcherRegistry) -> None:
    registry.add("flow-a", "c1", ttl=TTL, cap=5, now=NOW)
    registry.add("flow-a", "c2", ttl=TTL, cap=5, now=NOW)
    registry.remove("c1", NOW)  # $disconnect: the event names the connection only
    registry.drop("flow-a", "c2")  # a push found it gone
    assert registry.watchers("flow-a", NOW) == []
    registry.remove("c1", NOW)  # twice, or never seen: no error
    registry.remove("never-seen", NOW)
    # and the flow takes watchers again
    assert registry.add("flow-a", "c3", ttl=TTL, cap=1, now=NOW)


def test_a_push_s_drop_spares_a_connection_added_since_its_cutoff(
    registry: WatcherRegistry,
) -> None:
    # c1 was added before the cutoff, c2 at it (it may still be in its $connect)
    registry.add("flow-a", "c1", ttl=TTL, cap=5, now=NOW - 31)
    registry.add("flow-a", "c2", ttl=TTL, cap=5, now=NOW - 30)
    registry.drop("flow-a", "c1", connected_before=NOW - 30)
    registry.drop("flow-a", "c2", connected_before=NOW - 30)
    registry.drop("flow-a", "never-seen", connected_before=NOW - 30)  # no error
    assert registry.watchers("flow-a", NOW) == ["c2"]
    # and $disconnect forgets the young one all the same
    registry.remove("c2", NOW)
    assert registry.watchers("flow-a", NOW) == []


def test_watchers_past_their_ttl_are_gone_and_make_room(registry: WatcherRegistry) -> None:
    # Given a full flow whose registrations expired (TTL deletion lags by up to two days)
    registry.add("flow-a", "c1", ttl=TTL, cap=1, now=NOW)
    later = TTL + 1.0
    # Then they are gone on read, and a new connection starts the set over
    assert registry.watchers("flow-a", later) == []
    assert registry.add("flow-a", "c2", ttl=TTL + 600, cap=1, now=later)
    assert registry.watchers("flow-a", later) == ["c2"]


def test_twenty_concurrent_connects_never_pass_the_cap(dynamodb_local_endpoint: str) -> None:
    client = boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint, region_name="us-east-1")
    registry = dynamo_registry(client)

    def connect(n: int) -> bool:
        return registry.add("flow-race", f"c{n:02d}", ttl=TTL, cap=5, now=NOW)

    with ThreadPoolExecutor(max_workers=20) as pool:
        admitted = sum(pool.map(connect, range(20)))
    assert 1 <= len(registry.watchers("flow-race", NOW)) == admitted <= 5
