"""SES as template.yaml deploys it (docs/deploy.md, step 8; docs/email.md): every email names
one configuration set, whose bounces and complaints reach SesEventsFunction through an SNS
topic only SES may publish to; the function may write a suppression and nothing else; the
email budget and SES's reputation have alarms."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.aws_resources import load_template
from phoneverify.domain.email_limits import METRIC_EMAIL_BUDGET_EXHAUSTED
from tests.unit.test_template import TOPIC_IN_USE, resources_of
from tests.unit.test_template_notices import actions_on, statements

CONFIGURATION_SET = {"Ref": "EmailConfigurationSet"}
FUNCTION = "SesEventsFunction"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_every_function_that_sends_email_names_the_configuration_set(
    template: dict[str, Any],
) -> None:
    # The pattern each sending function follows: EMAIL_SENDER_ADDRESS and
    # EMAIL_CONFIGURATION_SET side by side, and ses:SendEmail on the identity and on the set
    # (SES checks both when an email names a configuration set).
    functions = resources_of(template, "AWS::Serverless::Function")
    senders = set()
    for name, fn in functions.items():
        env = fn["Properties"].get("Environment", {}).get("Variables", {})
        grants = [s for s in statements(fn) if "ses:SendEmail" in json.dumps(s["Action"])]
        if "EMAIL_SENDER_ADDRESS" in env:
            assert env["EMAIL_CONFIGURATION_SET"] == CONFIGURATION_SET, name
        for grant in grants:
            senders.add(name)
            assert "EMAIL_SENDER_ADDRESS" in env, name
            assert grant["Action"] == ["ses:SendEmail"], name
            assert [r["Fn::Sub"].rsplit(":", 1)[1] for r in grant["Resource"]] == [
                "identity/${EmailSenderIdentity}",
                "configuration-set/${EmailConfigurationSet}",
            ], name
    assert "LostPhoneStartFunction" in senders
    assert (
        "EMAIL_CONFIGURATION_SET" not in template["Globals"]["Function"]["Environment"]["Variables"]
    )


def test_the_configuration_set_publishes_bounces_and_complaints_to_the_function(
    template: dict[str, Any],
) -> None:
    resources = template["Resources"]
    config_set = resources["EmailConfigurationSet"]
    assert config_set["Type"] == "AWS::SES::ConfigurationSet"
    assert config_set["Properties"]["ReputationOptions"] == {"ReputationMetricsEnabled": True}
    destination = resources["EmailEventDestination"]
    assert destination["Type"] == "AWS::SES::ConfigurationSetEventDestination"
    assert destination["Properties"]["ConfigurationSetName"] == CONFIGURATION_SET
    published = destination["Properties"]["EventDestination"]
    assert published["Enabled"] is True
    assert sorted(published["MatchingEventTypes"]) == ["bounce", "complaint"]
    assert published["SnsDestination"] == {"TopicARN": {"Ref": "EmailEventsTopic"}}
    # the function is subscribed to that topic, and to nothing else
    events = resources[FUNCTION]["Properties"]["Events"]
    assert [e["Type"] for e in events.values()] == ["SNS"]
    assert [e["Properties"]["Topic"] for e in events.values()] == [{"Ref": "EmailEventsTopic"}]


def test_only_ses_may_publish_to_the_topic_for_this_accounts_configuration_set(
    template: dict[str, Any],
) -> None:
    policy = template["Resources"]["EmailEventsTopicPolicy"]["Properties"]
    assert policy["Topics"] == [{"Ref": "EmailEventsTopic"}]
    [statement] = policy["PolicyDocument"]["Statement"]
    assert statement["Principal"] == {"Service": "ses.amazonaws.com"}
    assert statement["Action"] == "sns:Publish"
    assert statement["Condition"]["StringEquals"] == {
        "AWS:SourceAccount": {"Ref": "AWS::AccountId"}
    }
    assert "configuration-set/${EmailConfigurationSet}" in json.dumps(statement["Condition"])
    assert template["Resources"]["EmailEventDestination"]["DependsOn"] == "EmailEventsTopicPolicy"


def test_the_function_may_write_a_suppression_and_nothing_else(template: dict[str, Any]) -> None:
    fn = template["Resources"][FUNCTION]
    assert fn["Properties"]["CodeUri"] == "functions/ses_events/"
    assert actions_on(fn, "RateLimitsTable") == {"dynamodb:PutItem"}
    [limits] = [s for s in statements(fn) if "RateLimitsTable" in json.dumps(s["Resource"])]
    assert limits["Condition"] == {
        "ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["suppressed#*"]}
    }
    assert actions_on(fn, "AuditTable") == {"dynamodb:PutItem", "dynamodb:BatchWriteItem"}
    policies = json.dumps(fn["Properties"]["Policies"])
    # the pepper alone in SSM; no other table, no email, no Telnyx
    assert policies.count("ssm:GetParameter") == 1 and "${HashPepperParameterName}" in policies
    for other in ("UsersTable", "VerificationsTable", "ses:", "Telnyx", "NoticesOutboxTable"):
        assert other not in policies, other


def test_an_event_the_function_failed_on_is_kept_and_alarms(template: dict[str, Any]) -> None:
    props = template["Resources"][FUNCTION]["Properties"]
    assert props["DeadLetterQueue"] == {
        "Type": "SQS",
        "TargetArn": {"Fn::GetAtt": ["EmailEventsDeadLetterQueue", "Arn"]},
    }
    assert props["EventInvokeConfig"]["MaximumRetryAttempts"] == 2
    queue = template["Resources"]["EmailEventsDeadLetterQueue"]["Properties"]
    assert queue["SqsManagedSseEnabled"] is True
    alarm = template["Resources"]["EmailEventsDeadLetterAlarm"]["Properties"]
    assert alarm["Dimensions"][0]["Value"] == {
        "Fn::GetAtt": ["EmailEventsDeadLetterQueue", "QueueName"]
    }
    assert alarm["AlarmActions"] == TOPIC_IN_USE


def test_the_email_budget_and_ses_reputation_alarm(template: dict[str, Any]) -> None:
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    budget = alarms["EmailBudgetExhaustedAlarm"]["Properties"]
    sms = alarms["SmsBudgetExhaustedAlarm"]["Properties"]
    assert budget["MetricName"] == METRIC_EMAIL_BUDGET_EXHAUSTED
    for same in ("Namespace", "Dimensions", "Statistic", "Threshold", "ComparisonOperator"):
        assert budget[same] == sms[same], same
    for name, metric in [
        ("EmailBounceRateAlarm", "Reputation.BounceRate"),
        ("EmailComplaintRateAlarm", "Reputation.ComplaintRate"),
    ]:
        props = alarms[name]["Properties"]
        assert (props["Namespace"], props["MetricName"]) == ("AWS/SES", metric)
        assert props["Dimensions"] == [
            {"Name": "ses:configuration-set", "Value": CONFIGURATION_SET}
        ]
        assert props["AlarmActions"] == TOPIC_IN_USE
    # below the rates at which SES reviews an account (5% bounces, 0.1% complaints)
    assert alarms["EmailBounceRateAlarm"]["Properties"]["Threshold"] < 0.05
    assert alarms["EmailComplaintRateAlarm"]["Properties"]["Threshold"] < 0.001
