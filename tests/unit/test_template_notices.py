"""The notices outbox as template.yaml deploys it (docs/notices.md): an encrypted table whose
stream carries keys only (never a number), a consumer that retries a record instead of dropping
it and keeps what it gives up in an encrypted dead-letter queue, a sweep on a schedule, an alarm
on the oldest pending notice, and least privilege: the functions that tell the owner may only
put a notice; only the consumer may read Telnyx Messaging's sender or touch the rest."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.aws_resources import load_template
from phoneverify.adapters.dynamo.notices_outbox import PENDING_INDEX
from phoneverify.domain.notices import METRIC_OLDEST_PENDING
from tests.unit.test_template import TOPIC_IN_USE, parameter, resources_of

# The functions whose flows call AccountNotices.notify (docs/phone-lifecycle.md#notices).
NOTIFYING = {
    "AccountDeleteFunction",  # the account's last notice
    "LoginVerifyFunction",  # the lock
    "PaymentsConfirmFunction",  # the lock
    "PasswordResetVerifyFunction",
    "LogoutFunction",
    "AccountPhoneVerifyFunction",
    "AccountReauthVerifyFunction",  # the lock
    "LostPhoneConfirmPhoneFunction",  # a swap waits
    "LostPhoneCompleteFunction",  # the swap done
    "AccountPhonePendingCancelFunction",  # the swap cancelled
    "AccountTotpVerifyFunction",  # an app added; the lock
    "AccountTotpRemoveFunction",  # the app removed
    "AccountPasskeyRemoveFunction",  # a passkey removed
}
CONSUMER = "NoticesDeliverFunction"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def statements(function: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for policy in function["Properties"]["Policies"] for s in policy["Statement"]]


def actions_on(function: dict[str, Any], resource: str) -> set[str]:
    found: set[str] = set()
    for statement in statements(function):
        if resource in json.dumps(statement["Resource"]):
            actions = statement["Action"]
            found.update([actions] if isinstance(actions, str) else actions)
    return found


def test_the_outbox_is_encrypted_expires_and_streams_keys_only(template: dict[str, Any]) -> None:
    props = template["Resources"]["NoticesOutboxTable"]["Properties"]
    assert props["SSESpecification"] == {"SSEEnabled": True}
    assert props["TimeToLiveSpecification"] == {"AttributeName": "ttl", "Enabled": True}
    # the stream starts a delivery without copying the number anywhere
    assert props["StreamSpecification"] == {"StreamViewType": "KEYS_ONLY"}
    [index] = props["GlobalSecondaryIndexes"]
    assert index["IndexName"] == PENDING_INDEX
    assert index["Projection"] == {"ProjectionType": "KEYS_ONLY"}


def test_a_failed_record_is_retried_then_kept_never_dropped(template: dict[str, Any]) -> None:
    events = template["Resources"][CONSUMER]["Properties"]["Events"]
    stream = events["Outbox"]["Properties"]
    assert events["Outbox"]["Type"] == "DynamoDB"
    assert stream["Stream"] == {"Fn::GetAtt": ["NoticesOutboxTable", "StreamArn"]}
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert 1 <= stream["MaximumRetryAttempts"] <= 10
    assert 60 <= stream["MaximumRecordAgeInSeconds"] <= 21_600
    assert stream["FilterCriteria"]["Filters"] == [{"Pattern": '{"eventName": ["INSERT"]}'}]
    assert stream["DestinationConfig"]["OnFailure"] == {
        "Type": "SQS",
        "Destination": {"Fn::GetAtt": ["NoticesDeadLetterQueue", "Arn"]},
    }
    queue = template["Resources"]["NoticesDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    assert queue["MessageRetentionPeriod"] == 14 * 86_400
    # and the sweep re-drives what is still pending
    assert events["Sweep"]["Type"] == "ScheduleV2"
    assert events["Sweep"]["Properties"]["ScheduleExpression"] == "rate(5 minutes)"


def test_a_notice_pending_too_long_and_a_given_up_record_alarm(template: dict[str, Any]) -> None:
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    pending = alarms["NoticePendingAlarm"]["Properties"]
    assert pending["MetricName"] == METRIC_OLDEST_PENDING
    assert (pending["Statistic"], pending["Threshold"]) == (
        "Maximum",
        {"Ref": "NoticePendingAlarmMinutes"},
    )
    assert pending["TreatMissingData"] == "breaching"  # a sweep that stopped is an alarm too
    # every period holds at least one sweep's datapoint, however late a sweep runs
    assert pending["Period"] >= 2 * 300
    assert int(parameter(template, "NoticePendingAlarmMinutes")["Default"]) == 15
    dead = alarms["NoticesDeadLetterAlarm"]["Properties"]
    assert dead["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["NoticesDeadLetterQueue", "QueueName"]}}
    ]
    for props in (pending, dead):
        assert props["AlarmActions"] == TOPIC_IN_USE


def test_the_functions_that_tell_the_owner_may_only_put_a_notice(template: dict[str, Any]) -> None:
    functions = resources_of(template, "AWS::Serverless::Function")
    writers = {name for name, fn in functions.items() if actions_on(fn, "NoticesOutboxTable")}
    assert writers == NOTIFYING | {CONSUMER}
    for name in NOTIFYING:
        assert actions_on(functions[name], "NoticesOutboxTable") == {"dynamodb:PutItem"}, name
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["NOTICES_OUTBOX_TABLE"] == {"Ref": "NoticesOutboxTable"}


def test_only_the_consumer_sends_and_it_may_not_write_a_notice(template: dict[str, Any]) -> None:
    functions = resources_of(template, "AWS::Serverless::Function")
    senders = {
        name
        for name, fn in functions.items()
        if "${TelnyxMessagingSenderParameterName}" in json.dumps(fn["Properties"]["Policies"])
    }
    assert senders == {CONSUMER}
    consumer = functions[CONSUMER]
    assert actions_on(consumer, "NoticesOutboxTable") == {"dynamodb:UpdateItem", "dynamodb:Query"}
    [query] = [s for s in statements(consumer) if s["Action"] == ["dynamodb:Query"]]
    assert query["Resource"] == {"Fn::Sub": "${NoticesOutboxTable.Arn}/index/" + PENDING_INDEX}
    assert actions_on(consumer, "RateLimitsTable") == {"dynamodb:UpdateItem"}
