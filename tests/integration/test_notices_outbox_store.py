"""One contract for the notices outbox (docs/notices.md): the in-memory fake the unit tests use,
and DynamoNoticesOutbox on moto and on AWS's DynamoDB Local (the real engine, for the race).
A notice is kept once however often its request writes it, claimed by one delivery at a time,
delivered or given up once, its number forgotten then; the sweep's index lists only what is
pending, oldest first."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.notices_outbox import DynamoNoticesOutbox
from phoneverify.domain.models import NoticeEvent
from phoneverify.domain.notices import OutboxNotice, OutboxPolicy
from phoneverify.ports.messaging import NoticeOutbox
from tests.support.fakes import InMemoryNoticesOutbox
from tests.support.tables import fresh_table

NOW = 1_800_000_000.0
PHONE = "+14155550123"
POLICY = OutboxPolicy(lease_secs=60)

Store = tuple[NoticeOutbox, Any, str]


def notice(notice_id: str = "n-1", created_at: float = NOW) -> OutboxNotice:
    return OutboxNotice(notice_id, PHONE, NoticeEvent.PHONE_CHANGED, created_at)


def dynamo(client: Any) -> Store:
    table = fresh_table(client, "NoticesOutboxTable")
    return DynamoNoticesOutbox(client, table, POLICY), client, table


def stores(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "memory":
        yield InMemoryNoticesOutbox(POLICY), None, ""
        return
    if request.param == "moto":
        with mock_aws():
            yield dynamo(boto3.client("dynamodb", region_name="us-east-1"))
        return
    endpoint = request.getfixturevalue("dynamodb_local_endpoint")
    yield dynamo(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"))


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    yield from stores(request)


@pytest.fixture(params=["memory", "dynamodb-local"])
def racing(request: pytest.FixtureRequest) -> Iterator[Store]:
    """Races need a real engine: moto does not apply conditions atomically across threads."""
    yield from stores(request)


def item(store: Store, notice_id: str = "n-1") -> dict[str, Any]:
    outbox, client, table = store
    if client is None:
        found: dict[str, Any] = outbox.items[notice_id]  # type: ignore[attr-defined]
        return {k: str(v) for k, v in found.items()}
    raw = client.get_item(TableName=table, Key={"pk": {"S": notice_id}})["Item"]
    return {k: next(iter(v.values())) for k, v in raw.items()}


def test_a_notice_written_twice_is_kept_once(store: Store) -> None:
    outbox, _, _ = store
    outbox.put(notice())
    outbox.put(notice())  # the same request, retried
    assert outbox.undelivered(10) == [("n-1", NOW)]
    assert item(store)["status"] == "pending" and item(store)["phone"] == PHONE


def test_one_delivery_at_a_time_until_its_lease_ends(store: Store) -> None:
    outbox, _, _ = store
    outbox.put(notice())
    claimed = outbox.claim("n-1", NOW)
    assert claimed == OutboxNotice("n-1", PHONE, NoticeEvent.PHONE_CHANGED, NOW, attempts=1)
    assert outbox.claim("n-1", NOW + 59) is None  # another delivery waits
    again = outbox.claim("n-1", NOW + 60)  # the first one died: its lease ran out
    assert again is not None and again.attempts == 2
    outbox.retry("n-1", "sms_budget_exhausted")  # given back: claimable at once
    assert outbox.claim("n-1", NOW + 61) is not None
    assert outbox.claim("missing", NOW) is None


def test_a_delivered_notice_forgets_its_number_and_leaves_the_sweeps_index(store: Store) -> None:
    outbox, _, _ = store
    outbox.put(notice("n-1", NOW))
    outbox.put(notice("n-2", NOW - 10))
    outbox.put(notice("n-3", NOW + 10))
    assert [found for found, _ in outbox.undelivered(10)] == ["n-2", "n-1", "n-3"]
    assert outbox.claim("n-1", NOW) is not None
    outbox.delivered("n-1", NOW + 1, "msg-1")
    outbox.give_up("n-2", NOW + 1, "phone_not_allowed")
    assert [found for found, _ in outbox.undelivered(10)] == ["n-3"]
    delivered, given_up = item(store, "n-1"), item(store, "n-2")
    assert delivered["status"] == "delivered" and "phone" not in delivered
    assert delivered["message_id"] == "msg-1"
    assert given_up["status"] == "given_up" and "phone" not in given_up
    assert int(delivered["ttl"]) == int(NOW + 1 + POLICY.keep_secs)
    # and nothing settles twice or comes back
    assert outbox.claim("n-1", NOW + 1_000) is None
    outbox.give_up("n-1", NOW + 2, "late")
    assert item(store, "n-1")["status"] == "delivered"


def test_racing_deliveries_claim_a_notice_once(racing: Store) -> None:
    outbox, _, _ = racing
    outbox.put(notice())
    with ThreadPoolExecutor(max_workers=8) as pool:
        claims = list(pool.map(lambda _: outbox.claim("n-1", NOW), range(8)))
    assert sum(claim is not None for claim in claims) == 1
