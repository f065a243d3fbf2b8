"""The audit trail keeps every verification event per user, durably, and never a code."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws

from devtools.aws_resources import create_tables
from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.models import FlowKind, RequestOrigin

ORIGIN = RequestOrigin(source_ip="203.0.113.5", user_agent="Mozilla/5.0 test")


def event(kind: VerificationEventType, at: float, subject: str = "u-1") -> VerificationEvent:
    return VerificationEvent(
        type=kind,
        kind=FlowKind.LOGIN,
        subject=subject,
        masked_phone="+1******0123",
        at=at,
        origin=ORIGIN,
        detail={"attempts": 2},
    )


@pytest.fixture
def dynamodb() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client)
        yield client


def test_events_are_kept_per_user_newest_first_with_origin(dynamodb: Any) -> None:
    # Given
    trail = DynamoAuditTrail(dynamodb, "AuditTable", retention_secs=86_400)
    # When
    trail.record(event(VerificationEventType.SENT, 1_800_000_000))
    trail.record(event(VerificationEventType.REJECTED, 1_800_000_010))
    trail.record(event(VerificationEventType.SENT, 1_800_000_005, subject="someone-else"))
    trail.record(event(VerificationEventType.ACCEPTED, 1_800_000_020))
    # Then
    events = trail.events_for("u-1")
    assert [e["event"] for e in events] == ["accepted", "rejected", "sent"]
    newest = events[0]
    assert newest["flow"] == "login"
    assert newest["masked_phone"] == "+1******0123"
    assert (newest["source_ip"], newest["user_agent"]) == ("203.0.113.5", "Mozilla/5.0 test")
    assert newest["at"].startswith("2027-01-15T")
    assert newest["detail"] == {"attempts": "2"}
    assert int(newest["ttl"]) == 1_800_000_020 + 86_400


def test_a_throttled_audit_write_is_logged_not_fatal(
    dynamodb: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # Given DynamoDB throttling the audit table
    trail = DynamoAuditTrail(dynamodb, "AuditTable", retention_secs=60)
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "PutItem",
    )
    # When
    with (
        mock.patch.object(dynamodb, "put_item", side_effect=throttled),
        caplog.at_level(logging.ERROR),
    ):
        trail.record(event(VerificationEventType.LOCKED, 1_800_000_000))
    # Then the request goes on, and the event is in the logs
    assert "audit write failed" in caplog.text
