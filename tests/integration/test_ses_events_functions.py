"""functions/ses_events as Lambda runs it (its template environment, moto's DynamoDB and SSM),
fed the SNS events of events/ses_events*.json as `sam local invoke` would: the address of a
permanent bounce or a complaint is suppressed, audited under its keyed subject, and every
later email to it refused (DynamoEmailLimits.admit_email); a record that is not SES's is
dropped; a table that cannot be reached fails the invocation, so that Lambda retries it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from devtools.aws_resources import create_tables
from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
from phoneverify.adapters.dynamo.email_limits import DynamoEmailLimits
from phoneverify.adapters.event_log import keyed_subject
from phoneverify.domain.clock import SystemClock
from phoneverify.domain.email_limits import EmailCaps, address_key, suppression_key
from phoneverify.domain.emails import unknown_subject
from phoneverify.domain.errors import EmailUndeliverable, StorageUnavailable
from phoneverify.domain.models import RequestOrigin
from phoneverify.domain.throttling import account_key
from tests.support.function_stack import HASH_PEPPER
from tests.support.lambda_env import (
    ROOT,
    LambdaContext,
    load_function,
    offline_aws_environment,
    template_environment,
)

ORIGIN = RequestOrigin("203.0.113.9", "pytest")


@dataclass
class SesStack:
    function: ModuleType
    dynamodb: Any
    env: dict[str, str]

    def handle(self, event: dict[str, Any]) -> dict[str, Any]:
        answer: dict[str, Any] = self.function.lambda_handler(
            event, LambdaContext(function_name="SesEventsFunction")
        )
        return answer

    def limits(self) -> DynamoEmailLimits:
        return DynamoEmailLimits(
            self.dynamodb, self.env["RATE_LIMITS_TABLE"], EmailCaps(), SystemClock()
        )

    def suppressed(self, address: str) -> dict[str, Any] | None:
        key = suppression_key(address_key(HASH_PEPPER.encode(), address))
        item: dict[str, Any] | None = self.dynamodb.get_item(
            TableName=self.env["RATE_LIMITS_TABLE"], Key={"pk": {"S": key}}
        ).get("Item")
        return item


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[SesStack]:
    offline_aws_environment(monkeypatch)
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(dynamodb)
        env = template_environment("SesEventsFunction")
        boto3.client("ssm", region_name="us-east-1").put_parameter(
            Name=env["HASH_PEPPER_PARAM"], Type="SecureString", Value=HASH_PEPPER
        )
        function = load_function("ses_events", monkeypatch, env)
        yield SesStack(function, dynamodb, env)


def sample(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    return event


def with_message(event: dict[str, Any], message: str) -> dict[str, Any]:
    event["Records"][0]["Sns"]["Message"] = message
    return event


@pytest.mark.parametrize(
    ("name", "address", "reason"),
    [
        ("ses_events", "bounce@simulator.amazonses.com", "bounce"),
        ("ses_events_complaint", "complaint@simulator.amazonses.com", "complaint"),
    ],
)
def test_a_reported_address_is_suppressed_and_every_later_email_refused(
    stack: SesStack, name: str, address: str, reason: str
) -> None:
    key = address_key(HASH_PEPPER.encode(), address)
    limits = stack.limits()
    limits.admit_email(key, ORIGIN)  # the email SES reported on went out
    # When SNS hands the function SES's event (the sample `sam local invoke` sends)
    assert stack.handle(sample(name)) == {"outcomes": {"suppressed": 1}}
    # Then the address's key is suppressed, for good, with no address in the item
    item = stack.suppressed(address)
    assert item is not None and item["reason"] == {"S": reason} and "ttl" not in item
    assert address not in json.dumps(stack.dynamodb.scan(TableName=stack.env["RATE_LIMITS_TABLE"]))
    # and the next email to it is refused before SES is asked: no more bounces from it
    with pytest.raises(EmailUndeliverable):
        limits.admit_email(key, ORIGIN)
    # and it is audited under the address's keyed subject, as every event about an address
    trail = DynamoAuditTrail(stack.dynamodb, stack.env["AUDIT_TABLE"], 86_400)
    subject = keyed_subject(HASH_PEPPER.encode(), unknown_subject(account_key(address)))
    [record] = trail.events_for(subject)
    assert (record["event"], record["flow"]) == ("email_suppressed", "email_delivery")
    assert record["detail"]["reason"] == reason and address not in json.dumps(record)


def test_the_same_event_delivered_twice_suppresses_once(stack: SesStack) -> None:
    assert stack.handle(sample("ses_events")) == {"outcomes": {"suppressed": 1}}
    assert stack.handle(sample("ses_events")) == {"outcomes": {"already_suppressed": 1}}


def test_a_transient_bounce_and_a_malformed_record_suppress_nothing(stack: SesStack) -> None:
    transient = json.loads(sample("ses_events")["Records"][0]["Sns"]["Message"])
    transient["bounce"]["bounceType"] = "Transient"
    assert stack.handle(with_message(sample("ses_events"), json.dumps(transient))) == {
        "outcomes": {"ignored": 1}
    }
    assert stack.handle(with_message(sample("ses_events"), "<html>")) == {
        "outcomes": {"malformed": 1}
    }
    assert stack.handle({"Records": [{"Sns": {}}]}) == {"outcomes": {"malformed": 1}}
    assert stack.handle({}) == {"outcomes": {}}
    assert stack.suppressed("bounce@simulator.amazonses.com") is None


def test_a_table_that_cannot_be_reached_fails_the_invocation_for_a_retry(
    stack: SesStack,
) -> None:
    # Given a DynamoDB that does not answer
    stack.function.runtime.__dict__["dynamodb"] = boto3.client(
        "dynamodb",
        region_name="us-east-1",
        endpoint_url="http://127.0.0.1:9",
        config=Config(connect_timeout=1, retries={"max_attempts": 1}),
    )
    # Then the invocation fails (Lambda retries it), nothing audited
    with pytest.raises(StorageUnavailable):
        stack.handle(sample("ses_events"))
    assert stack.dynamodb.scan(TableName=stack.env["AUDIT_TABLE"])["Items"] == []
