"""A write DynamoDB made but whose answer was a 500: the SDK retries it, and the retry's
condition fails on our own item. Creating a flow or a payment (fresh random keys) counts that
as done; the soak saw it answered 500 internal_error on POST /login and /payments/initiate,
and, once a delivery webhook had updated the new flow before the retry, on
/account/phone/start and /payments/initiate."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto.server import ThreadedMotoServer

from devtools.dynamodb_faults import DynamoFaultProxy, FaultSchedule
from devtools.local_stack.ports import free_port
from phoneverify.adapters.dynamo.creation import put_new_once
from phoneverify.adapters.dynamo.toolkit import put_new
from phoneverify.ports.conditions import ConditionFailed

# With this seed the proxy's first draw is a 500 after the write, its second passes.
FIRST_ANSWER_LOST = FaultSchedule(seed=3, error_after_share=0.5)
KEYS = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}


TABLE = f"LostAnswers{uuid.uuid4().hex[:8]}"  # moto's servers in one process share tables


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    url = f"http://127.0.0.1:{port}"
    boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", **KEYS).create_table(
        TableName=TABLE,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield url
    moto.stop()


@pytest.fixture
def proxy(moto_url: str) -> Iterator[DynamoFaultProxy]:
    with DynamoFaultProxy(moto_url) as running:
        yield running


def client(proxy: DynamoFaultProxy) -> Any:
    return boto3.client(
        "dynamodb", endpoint_url=proxy.endpoint_url, region_name="us-east-1", **KEYS
    )


def test_a_lost_answer_made_put_new_fail_on_its_own_write(proxy: DynamoFaultProxy) -> None:
    proxy.set_schedule(FIRST_ANSWER_LOST)
    with pytest.raises(ConditionFailed):
        put_new(client(proxy), TABLE, {"pk": "flow#1", "n": 1}, "pk")
    assert proxy.counts == {"error_after": 1, "pass": 1}


def test_put_new_once_counts_its_own_write_as_done(proxy: DynamoFaultProxy) -> None:
    proxy.set_schedule(FIRST_ANSWER_LOST)
    put_new_once(client(proxy), TABLE, {"pk": "flow#2", "n": 1}, "pk", ("n",))
    assert proxy.counts == {"error_after": 1, "pass": 1}


def test_put_new_once_still_refuses_an_item_that_is_not_ours(proxy: DynamoFaultProxy) -> None:
    put_new_once(client(proxy), TABLE, {"pk": "flow#3", "n": 1}, "pk", ("n",))
    with pytest.raises(ConditionFailed):
        put_new_once(client(proxy), TABLE, {"pk": "flow#3", "n": 2}, "pk", ("n",))


def test_on_dynamodb_local_numbers_it_rewrote_still_make_our_own_item(
    dynamodb_local_endpoint: str,
) -> None:
    # DynamoDB answers 0.0 as 0 and 1E-7 as 0.0000001: the item is ours all the same.
    table = f"LostAnswers{uuid.uuid4().hex[:8]}"
    boto3.client(
        "dynamodb", endpoint_url=dynamodb_local_endpoint, region_name="us-east-1", **KEYS
    ).create_table(
        TableName=table,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    with DynamoFaultProxy(dynamodb_local_endpoint, schedule=FIRST_ANSWER_LOST) as proxy:
        values = {"pk": "flow#4", "zero": 0.0, "tiny": 1e-7, "at": 1796586907.4834664}
        numbers = ("zero", "tiny", "at")
        put_new_once(client(proxy), table, values, "pk", numbers)
        assert proxy.counts == {"error_after": 1, "pass": 1}
        with pytest.raises(ConditionFailed):
            put_new_once(client(proxy), table, {**values, "zero": 1}, "pk", numbers)


def _changed_before_the_retry(proxy: DynamoFaultProxy, url: str, update: dict[str, Any]) -> Any:
    """A client through `proxy` whose first lost answer is followed, before the SDK's retry,
    by another writer's `update` of the item (what a Telnyx webhook does to a new flow)."""
    through_proxy = client(proxy)
    direct = boto3.client("dynamodb", endpoint_url=url, region_name="us-east-1", **KEYS)
    changed: list[bool] = []

    def between(response: Any = None, **_: Any) -> None:
        if changed or response is None or response[1].get("Error") is None:
            return
        changed.append(True)
        direct.update_item(TableName=TABLE, **update)

    through_proxy.meta.events.register_first("needs-retry.dynamodb.PutItem", between)
    return through_proxy


def test_put_new_once_counts_its_own_write_changed_before_the_retry(
    proxy: DynamoFaultProxy, moto_url: str
) -> None:
    # The code went out before the flow was written: its delivery webhook may update the new
    # flow between the lost answer and the retry. The item is ours all the same.
    proxy.set_schedule(FIRST_ANSWER_LOST)
    update = {
        "Key": {"pk": {"S": "flow#5"}},
        "UpdateExpression": "SET delivery_status = :sent",
        "ExpressionAttributeValues": {":sent": {"S": "sent"}},
    }
    values = {"pk": "flow#5", "subject": "u-1", "created_at": 1.5, "delivery_status": "unknown"}
    put_new_once(
        _changed_before_the_retry(proxy, moto_url, update),
        TABLE,
        values,
        "pk",
        ("subject", "created_at"),
    )
    assert proxy.counts == {"error_after": 1, "pass": 1}
