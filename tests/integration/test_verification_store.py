"""One contract for every VerificationStore: the in-memory fake the unit tests use, the DynamoDB
store on moto, and the DynamoDB store on AWS's DynamoDB Local (the real engine for races)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.aws_resources import create_tables
from phoneverify.adapters.dynamodb import ConditionFailed, DynamoVerificationStore
from phoneverify.models import FlowKind, FlowStatus, PendingVerification
from phoneverify.ports import VerificationStore
from tests.support.fakes import InMemoryVerificationStore

NOW = 1_800_000_000.0


def record(key: str = "k1", **overrides: Any) -> PendingVerification:
    values: dict[str, Any] = {
        "flow_key": key,
        "kind": FlowKind.LOGIN,
        "subject": "u-1",
        "phone_number": "+14155550123",
        "verification_id": "v-1",
        "status": FlowStatus.PENDING,
        "attempts": 0,
        "max_attempts": 5,
        "send_count": 1,
        "last_sent_at": NOW,
        "expires_at": NOW + 300,
        "created_at": NOW,
    }
    values.update(overrides)
    return PendingVerification(**values)


def dynamo_store(client: Any) -> DynamoVerificationStore:
    names = create_tables(client, prefix=f"t{uuid.uuid4().hex[:8]}-")
    return DynamoVerificationStore(client, names["VerificationsTable"])


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def store(request: pytest.FixtureRequest) -> Iterator[VerificationStore]:
    if request.param == "memory":
        yield InMemoryVerificationStore()
    elif request.param == "moto":
        with mock_aws():
            yield dynamo_store(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        yield dynamo_store(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"))


@pytest.fixture
def real_engine_store(dynamodb_local_endpoint: str) -> VerificationStore:
    return dynamo_store(
        boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint, region_name="us-east-1")
    )


def test_round_trip_and_no_overwrite(store: VerificationStore) -> None:
    # Given
    original = record(data={"purpose": "test"})
    store.create(original, ttl=int(NOW) + 1000)
    # When / Then
    assert store.get("k1") == original
    assert store.get("missing") is None
    with pytest.raises(ConditionFailed):
        store.create(record(subject="attacker"), ttl=1)
    assert store.get("k1") == original


def test_attempts_are_counted_up_to_the_cap_only(store: VerificationStore) -> None:
    store.create(record(), ttl=0)
    counts = [store.reserve_attempt("k1", "v-1", NOW) for _ in range(6)]
    assert counts == [1, 2, 3, 4, 5, None]


@pytest.mark.parametrize(
    ("overrides", "vid", "now"),
    [({}, "v-other", NOW), ({}, "v-1", NOW + 300), ({"status": FlowStatus.VERIFIED}, "v-1", NOW)],
    ids=["other-verification", "expired", "not-pending"],
)
def test_no_attempt_on_a_flow_that_cannot_be_checked(
    store: VerificationStore, overrides: dict[str, Any], vid: str, now: float
) -> None:
    store.create(record(**overrides), ttl=0)
    assert store.reserve_attempt("k1", vid, now) is None
    assert store.reserve_attempt("missing", "v-1", NOW) is None
    assert store.get("k1") == record(**overrides)


def test_refund_gives_an_attempt_back(store: VerificationStore) -> None:
    store.create(record(), ttl=0)
    store.reserve_attempt("k1", "v-1", NOW)
    assert store.refund_attempt("k1", "v-1") is True
    assert store.refund_attempt("k1", "v-1") is False  # never below zero
    assert store.get("k1").attempts == 0  # type: ignore[union-attr]


def test_a_flow_is_verified_once_and_then_cannot_be_locked(store: VerificationStore) -> None:
    store.create(record(), ttl=0)
    assert store.mark_verified("k1", "v-other", NOW) is False
    assert store.mark_verified("k1", "v-1", NOW) is True
    assert store.mark_verified("k1", "v-1", NOW) is False
    assert store.lock("k1", NOW) is False
    assert store.get("k1").status == FlowStatus.VERIFIED  # type: ignore[union-attr]


def test_send_reservation_respects_cooldown_cap_and_token(store: VerificationStore) -> None:
    # Given a flow whose first code went out at NOW
    store.create(record(), ttl=0)
    # Then: within the cooldown, no send
    assert store.reserve_send("k1", "tok-a", NOW + 29, 30, 5) is False
    # After it, one reservation; a failed send releases it
    assert store.reserve_send("k1", "tok-a", NOW + 30, 30, 5) is True
    assert store.release_send("k1", "tok-b", NOW) is False
    assert store.release_send("k1", "tok-a", NOW) is True
    restored = store.get("k1")
    assert restored is not None and (restored.send_count, restored.last_sent_at) == (1, NOW)
    # A successful send replaces the verification and the expiry
    assert store.reserve_send("k1", "tok-c", NOW + 31, 30, 5) is True
    assert store.complete_send("k1", "tok-x", "v-2", NOW + 331, 0) is False
    assert store.complete_send("k1", "tok-c", "v-2", NOW + 331, 0) is True
    resent = store.get("k1")
    assert resent is not None
    assert (resent.verification_id, resent.expires_at, resent.send_count) == ("v-2", NOW + 331, 2)
    # The cap holds
    assert store.reserve_send("k1", "tok-d", NOW + 1000, 30, 2) is False


def test_twenty_concurrent_guesses_never_exceed_the_cap(real_engine_store: VerificationStore):
    # Given
    real_engine_store.create(record(), ttl=0)
    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(
            pool.map(lambda _: real_engine_store.reserve_attempt("k1", "v-1", NOW), range(20))
        )
    # Then
    granted = sorted(r for r in results if r is not None)
    assert granted == [1, 2, 3, 4, 5]
    assert real_engine_store.get("k1").attempts == 5  # type: ignore[union-attr]


def test_twenty_concurrent_right_codes_consume_the_flow_once(
    real_engine_store: VerificationStore,
) -> None:
    # Given
    real_engine_store.create(record(), ttl=0)
    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(
            pool.map(lambda _: real_engine_store.mark_verified("k1", "v-1", NOW), range(20))
        )
    # Then
    assert results.count(True) == 1
