"""The template's security findings that were fixed, not skipped (docs/security-scan.md): the
WebSocket stage's access log, the topics encrypted with a key CloudWatch and SES may use, the
log groups' optional key; and the one version the template states is pyproject.toml's."""

from __future__ import annotations

import tomllib
from typing import Any

import pytest

from devtools.aws_resources import TEMPLATE, load_template


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_the_websocket_stage_writes_an_access_log_with_a_retention(
    template: dict[str, Any],
) -> None:
    # Given the live-status WebSocket stage (checkov CKV_AWS_95, serverless-rules ES2000)
    stage = template["Resources"]["LiveStatusStage"]["Properties"]
    # Then it logs every connection to a group of its own, kept LogRetentionDays
    setting = stage["AccessLogSettings"]
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["LiveStatusAccessLogGroup", "Arn"]}
    for field in ("$context.requestId", "$context.routeKey", "$context.status"):
        assert field in setting["Format"]
    # and never the query string, which carries the flow id
    assert "queryString" not in setting["Format"]
    group = template["Resources"]["LiveStatusAccessLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_topics_are_encrypted_with_a_key_cloudwatch_and_ses_may_use(
    template: dict[str, Any],
) -> None:
    # Given the alarm topic and the SES events topic (checkov CKV_AWS_26)
    resources = template["Resources"]
    for topic in ("AlarmTopic", "EmailEventsTopic"):
        # Then each is encrypted with the stack's customer managed key: the AWS managed aws/sns
        # key's policy cannot be changed, and it does not let CloudWatch alarms publish
        assert resources[topic]["Properties"]["KmsMasterKeyId"] == {
            "Fn::GetAtt": ["TopicsKey", "Arn"]
        }
    key = resources["TopicsKey"]
    assert key["Type"] == "AWS::KMS::Key"
    assert key["Properties"]["EnableKeyRotation"] is True
    statements = key["Properties"]["KeyPolicy"]["Statement"]
    by_service = {
        s["Principal"]["Service"]: s for s in statements if "Service" in s.get("Principal", {})
    }
    # and the key lets the two services that publish encrypt, for this account only
    assert set(by_service) == {"cloudwatch.amazonaws.com", "ses.amazonaws.com"}
    for statement in by_service.values():
        assert statement["Effect"] == "Allow"
        assert set(statement["Action"]) == {"kms:Decrypt", "kms:GenerateDataKey*"}
        assert statement["Condition"]["StringEquals"]["aws:SourceAccount"] == {
            "Ref": "AWS::AccountId"
        }
    # and no statement grants anyone outside the account
    for statement in statements:
        principal = statement["Principal"]
        assert principal != "*" and principal.get("AWS") != "*"


def test_the_log_groups_take_an_optional_key(template: dict[str, Any]) -> None:
    # Given the LogsKmsKeyArn parameter (checkov CKV_AWS_158): empty by default, AWS-owned keys
    parameter = template["Parameters"]["LogsKmsKeyArn"]
    assert parameter["Default"] == ""
    assert template["Conditions"]["HasLogsKmsKey"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "LogsKmsKeyArn"}, ""]}]
    }
    # Then every log group of the stack is encrypted with it when one is given
    groups = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Logs::LogGroup"
    }
    assert {"ApiAccessLogGroup", "FunctionLogGroup", "LiveStatusAccessLogGroup"} <= set(groups)
    for group in groups.values():
        assert group["Properties"]["KmsKeyId"] == {
            "Fn::If": ["HasLogsKmsKey", {"Ref": "LogsKmsKeyArn"}, {"Ref": "AWS::NoValue"}]
        }


def test_the_template_states_pyprojects_version(template: dict[str, Any]) -> None:
    # Given the one version source, pyproject.toml (a template cannot read a file)
    with (TEMPLATE.parent / "pyproject.toml").open("rb") as handle:
        version = tomllib.load(handle)["project"]["version"]
    # Then the template's metadata states the same version
    assert template["Metadata"]["Project"]["Version"] == version
