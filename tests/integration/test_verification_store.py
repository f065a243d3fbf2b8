"""One contract for every VerificationStore: the in-memory fake the unit tests use, the DynamoDB
store on moto, and the DynamoDB store on AWS's DynamoDB Local (the real engine for races)."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.verifications import DynamoVerificationStore
from phoneverify.domain.models import (
    Channel,
    DeliveryStatus,
    FlowKind,
    FlowStatus,
    PendingVerification,
)
from phoneverify.ports.conditions import ConditionFailed
from phoneverify.ports.verifications import FlowWrite, VerificationStore
from tests.support.fakes import InMemoryVerificationStore
from tests.support.tables import fresh_table

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


def attempt(
    store: VerificationStore, now: float, lease_until: float, kind: FlowKind = FlowKind.LOGIN
) -> int | None:
    """The attempt count after reserve_attempt on "k1", or None when it was refused."""
    write = store.reserve_attempt("k1", kind, now, lease_until)
    if not write.done:
        return None
    assert write.record is not None
    return write.record.attempts + 1


def reserve_send(
    store: VerificationStore,
    token: str,
    now: float,
    cooldown_secs: int,
    max_sends: int,
    retention_secs: int = 86_400,
) -> bool:
    return store.reserve_send(
        "k1",
        FlowKind.LOGIN,
        token,
        now,
        cooldown_secs=cooldown_secs,
        max_sends=max_sends,
        retention_secs=retention_secs,
    ).done


def dynamo_store(client: Any) -> DynamoVerificationStore:
    return DynamoVerificationStore(client, fresh_table(client, "VerificationsTable"))


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
    counts = [attempt(store, NOW, NOW) for _ in range(6)]
    assert counts == [1, 2, 3, 4, 5, None]


@pytest.mark.parametrize(
    ("overrides", "kind", "now"),
    [
        ({}, FlowKind.PAYMENT, NOW),
        ({}, FlowKind.LOGIN, NOW + 300),
        ({"status": FlowStatus.VERIFIED}, FlowKind.LOGIN, NOW),
    ],
    ids=["other-kind", "expired", "not-pending"],
)
def test_no_attempt_on_a_flow_that_cannot_be_checked(
    store: VerificationStore, overrides: dict[str, Any], kind: FlowKind, now: float
) -> None:
    store.create(record(**overrides), ttl=0)
    # The refusal answers with the flow as it was: the reason, without a second read.
    assert store.reserve_attempt("k1", kind, now, now) == FlowWrite(False, record(**overrides))
    assert store.reserve_attempt("missing", FlowKind.LOGIN, NOW, NOW) == FlowWrite(False, None)
    assert store.get("k1") == record(**overrides)


def test_a_reserved_attempt_answers_with_the_flow_before_it(store: VerificationStore) -> None:
    store.create(record(), ttl=0)
    assert store.reserve_attempt("k1", FlowKind.LOGIN, NOW, NOW + 20) == FlowWrite(True, record())
    assert store.get("k1") == record(attempts=1, check_lease_until=NOW + 20)


def test_a_check_in_flight_holds_the_flow_until_released_or_lapsed(
    store: VerificationStore,
) -> None:
    # Given a check holding the flow for 20 s
    store.create(record(), ttl=0)
    assert attempt(store, NOW, NOW + 20) == 1
    # Then no second check starts meanwhile
    assert attempt(store, NOW + 1, NOW + 21) is None
    # until the first one lets go (a wrong code) ...
    assert store.release_check("k1", NOW + 99) is False  # only the holder can release
    assert store.release_check("k1", NOW + 20) is True
    assert attempt(store, NOW + 2, NOW + 22) == 2
    # ... or its lease lapses (its Lambda died)
    assert attempt(store, NOW + 22, NOW + 42) == 3


def test_refund_gives_an_attempt_back(store: VerificationStore) -> None:
    store.create(record(), ttl=0)
    attempt(store, NOW, NOW + 20)
    assert store.refund_attempt("k1", "v-1") is True
    assert store.refund_attempt("k1", "v-1") is False  # never below zero
    assert store.get("k1").attempts == 0  # type: ignore[union-attr]


def test_a_proven_flow_stays_pending_on_its_proven_id_with_its_attempt_back(
    store: VerificationStore,
) -> None:
    # Given a check in flight on the right code
    store.create(record(), ttl=0)
    attempt(store, NOW, NOW + 20)
    # When a refusal after the code leaves the flow proven
    assert store.prove("k1", "v-other", "proven_x") is False  # only on the checked code
    assert store.prove("k1", "v-1", "proven_x") is True
    # Then it is pending on the proven id, its attempt given back, its lease released
    assert store.get("k1") == record(verification_id="proven_x")
    assert store.prove("k1", "proven_x", "proven_y") is False  # no attempt to give back
    assert attempt(store, NOW + 1, NOW + 21) == 1
    assert store.mark_verified("k1", "proven_x", NOW + 2) is True


def test_a_flow_is_verified_once_and_then_cannot_be_locked(store: VerificationStore) -> None:
    store.create(record(), ttl=0)
    assert store.mark_verified("k1", "v-other", NOW) is False
    assert store.mark_verified("k1", "v-1", NOW) is True
    assert store.mark_verified("k1", "v-1", NOW) is False
    assert store.lock("k1", NOW) is False
    assert store.get("k1").status == FlowStatus.VERIFIED  # type: ignore[union-attr]


@pytest.mark.parametrize("end", ["verified", "locked"])
def test_a_flow_that_ends_keeps_no_data(store: VerificationStore, end: str) -> None:
    # Given a pending registration holding a password hash
    store.create(record(data={"email": "a@example.com", "password_hash": "$2b$12$x"}), ttl=0)
    # When it ends
    ended = store.mark_verified("k1", "v-1", NOW) if end == "verified" else store.lock("k1", NOW)
    # Then its data is gone from the table
    assert ended is True
    after = store.get("k1")
    assert after is not None and after.data == {}


def test_send_reservation_respects_cooldown_cap_and_token(store: VerificationStore) -> None:
    # Given a flow whose first code went out at NOW
    store.create(record(), ttl=0)
    # Then: within the cooldown, no send
    assert reserve_send(store, "tok-a", NOW + 29, 30, 5) is False
    # After it, one reservation; a failed send releases it
    assert reserve_send(store, "tok-a", NOW + 30, 30, 5) is True
    assert store.release_send("k1", "tok-b", NOW) is False
    assert store.release_send("k1", "tok-a", NOW) is True
    restored = store.get("k1")
    assert restored is not None and (restored.send_count, restored.last_sent_at) == (1, NOW)
    # A successful send replaces the verification and the expiry
    assert reserve_send(store, "tok-c", NOW + 31, 30, 5) is True
    assert store.complete_send("k1", "tok-x", "v-2", NOW + 331, 0) is False
    assert store.complete_send("k1", "tok-c", "v-2", NOW + 331, 0) is True
    resent = store.get("k1")
    assert resent is not None
    assert (resent.verification_id, resent.expires_at, resent.send_count) == ("v-2", NOW + 331, 2)
    # The cap holds
    assert reserve_send(store, "tok-d", NOW + 1000, 30, 2) is False


def test_no_send_on_a_flow_of_another_kind_or_past_its_retention(store: VerificationStore) -> None:
    # Given a login whose code expired at NOW + 300
    store.create(record(), ttl=0)
    # Then no payment resend uses it, and no resend once the retention after expiry is over
    other = store.reserve_send(
        "k1", FlowKind.PAYMENT, "t", NOW + 60, cooldown_secs=30, max_sends=5, retention_secs=60
    )
    assert other == FlowWrite(False, record())
    assert reserve_send(store, "t", NOW + 360, 30, 5, retention_secs=60) is False
    # while within it, a resend revives the flow, answering with the flow as it was
    revived = store.reserve_send(
        "k1", FlowKind.LOGIN, "t", NOW + 359, cooldown_secs=30, max_sends=5, retention_secs=60
    )
    assert revived == FlowWrite(True, record())


def test_each_code_keeps_the_channel_it_went_by(store: VerificationStore) -> None:
    # Given a flow whose first code went by call
    store.create(record(channel=Channel.CALL), ttl=0)
    first = store.get("k1")
    assert first is not None and first.channel is Channel.CALL
    store.record_delivery("k1", "v-1", DeliveryStatus.DELIVERY_FAILED, NOW + 5)
    # When a resend goes by WhatsApp
    assert reserve_send(store, "tok", NOW + 30, 30, 5) is True
    assert store.complete_send("k1", "tok", "v-2", NOW + 330, 0, Channel.WHATSAPP) is True
    # Then the flow holds the new code's channel, its delivery status starting over
    resent = store.get("k1")
    assert resent is not None
    assert (resent.channel, resent.delivery_status) == (Channel.WHATSAPP, DeliveryStatus.UNKNOWN)


def test_a_cancelled_flow_is_cancelled_once_and_keeps_no_data(store: VerificationStore) -> None:
    # Given a pending registration holding a password hash
    store.create(record(data={"password_hash": "$2b$12$x"}), ttl=int(NOW) + 1000)
    # When it is cancelled twice
    first, second = store.cancel("k1", NOW), store.cancel("k1", NOW)
    # Then only the first cancels, answering the flow as written (what its watchers are
    # told), and the flow can no longer be checked, resent or verified
    assert (first, second) == (record(status=FlowStatus.CANCELLED, data={}), None)
    after = store.get("k1")
    assert after is not None and (after.status, after.data) == (FlowStatus.CANCELLED, {})
    assert attempt(store, NOW, NOW) is None
    assert reserve_send(store, "tok", NOW + 100, 30, 5) is False
    assert store.mark_verified("k1", "v-1", NOW) is False
    assert store.cancel("missing", NOW) is None


@pytest.mark.parametrize("end", ["verified", "locked", "past-ttl"])
def test_only_a_live_pending_flow_can_be_cancelled(store: VerificationStore, end: str) -> None:
    # Given a flow that is over (or whose TTL passed while DynamoDB has not deleted it yet)
    store.create(record(), ttl=int(NOW) + 1000)
    if end == "verified":
        store.mark_verified("k1", "v-1", NOW)
    elif end == "locked":
        store.lock("k1", NOW)
    # When / Then
    assert store.cancel("k1", NOW + 1000 if end == "past-ttl" else NOW) is None
    assert store.get("k1").status != FlowStatus.CANCELLED  # type: ignore[union-attr]


def test_delivery_status_only_moves_forward(store: VerificationStore) -> None:
    # Given a flow whose SMS nobody has reported on
    store.create(record(), ttl=int(NOW) + 1000)
    assert store.get("k1").delivery_status == DeliveryStatus.UNKNOWN  # type: ignore[union-attr]
    # When reports arrive out of order: delivered, then a late sent, then a failure
    moves = [
        store.record_delivery("k1", "v-1", status, NOW)
        for status in (
            DeliveryStatus.DELIVERED,
            DeliveryStatus.SENT,
            DeliveryStatus.DELIVERY_FAILED,
            DeliveryStatus.UNKNOWN,
        )
    ]
    # Then only the first counts: a final state never changes
    assert moves == [True, False, False, False]
    assert store.get("k1").delivery_status == DeliveryStatus.DELIVERED  # type: ignore[union-attr]


def test_sent_then_a_final_state_both_count(store: VerificationStore) -> None:
    store.create(record(), ttl=int(NOW) + 1000)
    assert store.record_delivery("k1", "v-1", DeliveryStatus.SENT, NOW) is True
    assert store.record_delivery("k1", "v-1", DeliveryStatus.SENT, NOW) is False
    assert store.record_delivery("k1", "v-1", DeliveryStatus.SENDING_FAILED, NOW) is True
    assert store.get("k1").delivery_status == DeliveryStatus.SENDING_FAILED  # type: ignore[union-attr]


def test_only_the_current_code_of_a_pending_flow_gets_delivery_reports(
    store: VerificationStore,
) -> None:
    # Given a flow found by its verification id, whose first code was delivered
    store.create(record(), ttl=int(NOW) + 1000)
    assert store.find_by_verification_id("v-1") == ["k1"]
    assert store.find_by_verification_id("v-unknown") == []
    store.record_delivery("k1", "v-1", DeliveryStatus.DELIVERED, NOW)
    # When a resend replaces the code
    assert reserve_send(store, "tok", NOW + 30, 30, 5) is True
    assert store.complete_send("k1", "tok", "v-2", NOW + 330, int(NOW) + 2000) is True
    # Then the new code starts over at unknown, is found by its id, and the old id's late
    # reports change nothing
    assert store.get("k1").delivery_status == DeliveryStatus.UNKNOWN  # type: ignore[union-attr]
    assert store.find_by_verification_id("v-2") == ["k1"]
    assert store.record_delivery("k1", "v-1", DeliveryStatus.DELIVERY_FAILED, NOW) is False
    assert store.record_delivery("k1", "v-2", DeliveryStatus.SENT, NOW) is True
    # and once the flow has ended, nothing moves
    assert store.cancel("k1", NOW + 40) is not None
    assert store.record_delivery("k1", "v-2", DeliveryStatus.DELIVERED, NOW) is False
    assert store.get("k1").delivery_status == DeliveryStatus.SENT  # type: ignore[union-attr]


def test_twenty_concurrent_guesses_never_exceed_the_cap(real_engine_store: VerificationStore):
    # Given
    real_engine_store.create(record(), ttl=0)
    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: attempt(real_engine_store, NOW, NOW), range(20)))
    # Then
    granted = sorted(r for r in results if r is not None)
    assert granted == [1, 2, 3, 4, 5]
    assert real_engine_store.get("k1").attempts == 5  # type: ignore[union-attr]


def test_twenty_concurrent_checks_let_exactly_one_through(
    real_engine_store: VerificationStore,
) -> None:
    # Given
    real_engine_store.create(record(), ttl=0)
    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(lambda _: attempt(real_engine_store, NOW, NOW + 20), range(20)))
    # Then
    assert [r for r in results if r is not None] == [1]


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


def test_a_cancel_racing_right_codes_leaves_exactly_one_winner(
    real_engine_store: VerificationStore,
) -> None:
    # Given a pending flow
    real_engine_store.create(record(), ttl=int(NOW) + 1000)

    # When ten cancels and ten right codes arrive at once
    def race(i: int) -> tuple[str, bool]:
        if i % 2:
            return "cancel", real_engine_store.cancel("k1", NOW) is not None
        return "verify", real_engine_store.mark_verified("k1", "v-1", NOW)

    with ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(race, range(20)))
    # Then exactly one write took effect, and the flow ended the way it says
    winners = [kind for kind, won in results if won]
    assert len(winners) == 1
    ended = real_engine_store.get("k1")
    assert ended is not None
    expected = FlowStatus.CANCELLED if winners == ["cancel"] else FlowStatus.VERIFIED
    assert ended.status == expected
