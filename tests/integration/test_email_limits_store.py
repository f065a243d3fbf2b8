"""The suppressed addresses (docs/email.md#bounces-and-complaints), one contract for the
in-memory EmailLimits the unit tests use and DynamoEmailLimits on moto and on AWS's DynamoDB
Local (the real engine): a suppression is written once and lasts (no TTL), and from then on
every email to the address is refused in admit_email's transaction, counting nothing. The
attack it stops: an address that bounces (or whose owner marks us as spam) would otherwise
cost the sender's SES reputation with every email someone makes the service send to it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.email_limits import DynamoEmailLimits
from phoneverify.domain.email_limits import EmailCaps, address_key, suppression_key
from phoneverify.domain.errors import EmailUndeliverable
from phoneverify.domain.models import RequestOrigin
from phoneverify.ports.messaging import EmailLimits
from tests.support.emails import InMemoryEmailLimits
from tests.support.fakes import FakeClock
from tests.support.tables import rate_limits_table

PEPPER = b"integration-pepper-0123456789abcdef0123456789"
ORIGIN = RequestOrigin("203.0.113.8", "pytest")
BOUNCING = address_key(PEPPER, "bounce@simulator.amazonses.com")
FINE = address_key(PEPPER, "ada@example.com")


class Store:
    def __init__(self, limits: EmailLimits, client: Any = None, table: str = "") -> None:
        self.limits, self.client, self.table = limits, client, table

    def item(self, key: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.client.get_item(
            TableName=self.table, Key={"pk": {"S": key}}
        ).get("Item")
        return found

    def counted(self) -> int:
        items = self.client.scan(TableName=self.table)["Items"]
        return sum(int(i["sends"]["N"]) for i in items if "sends" in i)


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    clock = FakeClock()
    if request.param == "memory":
        yield Store(InMemoryEmailLimits(clock))
        return

    def dynamo(client: Any) -> Store:
        table = rate_limits_table(client)
        return Store(DynamoEmailLimits(client, table, EmailCaps(), clock), client, table)

    if request.param == "moto":
        with mock_aws():
            yield dynamo(boto3.client("dynamodb", region_name="us-east-1"))
        return
    endpoint = request.getfixturevalue("dynamodb_local_endpoint")
    yield dynamo(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"))


def test_a_suppressed_address_is_refused_every_email_and_counts_nothing(store: Store) -> None:
    # Given an address SES reported as bouncing, and one it did not
    store.limits.admit_email(BOUNCING, ORIGIN)
    assert store.limits.suppress(BOUNCING, "bounce", 1_800_000_000.0) is True
    # When emails to both are asked for
    for _ in range(3):
        with pytest.raises(EmailUndeliverable) as refused:
            store.limits.admit_email(BOUNCING, ORIGIN)
        assert refused.value.code == "email_undeliverable"
    store.limits.admit_email(FINE, ORIGIN)
    # Then the suppressed one is refused each time without counting (the first email and the
    # other address's counted once in each of their three counters)
    if store.client is not None:
        assert store.counted() == 2 * 3


def test_a_suppression_is_written_once_and_lasts(store: Store) -> None:
    assert store.limits.suppress(BOUNCING, "complaint", 1_800_000_000.0) is True
    # SNS delivers at least once, SES may report a bounce after a complaint: one item, the first
    assert store.limits.suppress(BOUNCING, "bounce", 1_800_000_100.0) is False
    if store.client is None:
        return
    item = store.item(suppression_key(BOUNCING))
    assert item == {
        "pk": {"S": f"suppressed#{BOUNCING}"},
        "reason": {"S": "complaint"},
        "suppressed_at": {"N": "1800000000"},
    }  # no ttl: it never expires, and no address: only its keyed digest
