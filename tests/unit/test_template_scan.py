"""The template scan's judgement (devtools/template_scan.py; the tools themselves run in `make
scan`): a finding without a reason fails it, a skip must say why, and a skip that explains
nothing fails it too, so the list cannot outlive the resources it was written for."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.aws_resources import load_template
from devtools.template_scan import (
    SKIPS,
    Finding,
    ScanError,
    cfn_lint_findings,
    checkov_findings,
    judge,
    metadata_skips,
    read_skips,
)


def finding(check: str = "CKV_AWS_117", resource: str = "AWS::Lambda::Function.Login") -> Finding:
    return Finding("checkov", check, resource, "built", "title")


def test_a_finding_no_skip_explains_fails_the_scan() -> None:
    # Given a skip for every function's VPC and a new finding of another check
    skips = read_skips("checkov CKV_AWS_117 AWS::*::Function.* No VPC: nothing private here.\n")
    new = finding("CKV_AWS_26", "AWS::SNS::Topic.NewTopic")
    # When the scan judges both findings
    verdict = judge([finding(), new], skips)
    # Then only the new one is unexplained
    assert verdict.unexplained == [new]
    assert (verdict.explained, verdict.unused) == (1, [])


def test_a_skip_line_that_explains_nothing_fails_the_scan() -> None:
    skips = read_skips("cfn-lint ES6000 AWS::SQS::Queue.Gone The queue this was for went away.\n")
    verdict = judge([], skips)
    assert [skip.where for skip in verdict.unused] == [f"{SKIPS.name}:1"]


def test_a_skip_must_give_its_reason() -> None:
    with pytest.raises(ScanError, match="with a reason"):
        read_skips("checkov CKV_AWS_117 AWS::*::Function.*\n")
    with pytest.raises(ScanError, match="with a reason"):
        read_skips("checkov CKV_AWS_117 AWS::*::Function.* because\n")
    with pytest.raises(ScanError, match="unknown tool"):
        read_skips("trivy AVD-AWS-0001 * a reason of several words\n")
    with pytest.raises(ScanError, match="not a check id"):
        read_skips("checkov all * a reason of several words\n")


def test_a_metadata_skip_must_give_its_reason_and_covers_what_sam_generates() -> None:
    template: dict[str, Any] = {
        "Resources": {
            "Table": {
                "Type": "AWS::DynamoDB::Table",
                "Metadata": {"checkov": {"skip": [{"id": "CKV_AWS_28", "comment": ""}]}},
            }
        }
    }
    with pytest.raises(ScanError, match="comment saying why"):
        metadata_skips(template)
    template["Resources"]["Table"]["Metadata"]["checkov"]["skip"][0]["comment"] = "TTL only."
    with pytest.raises(ScanError, match="comment saying why"):
        metadata_skips(template)
    template["Resources"]["Table"]["Metadata"]["checkov"]["skip"][0]["comment"] = (
        "Every item expires through TTL."
    )
    skips = metadata_skips(template)
    # The same logical id in the built template is explained too (SAM drops the Metadata)
    verdict = judge([finding("CKV_AWS_28", "AWS::DynamoDB::Table.Table")], skips)
    assert (verdict.explained, verdict.unexplained, verdict.unused) == (1, [], [])


def test_the_projects_skips_read_and_every_template_skip_says_why() -> None:
    skips = read_skips(SKIPS.read_text(encoding="utf-8"))
    assert skips
    assert all(len(skip.reason.split()) >= 3 for skip in skips)
    assert metadata_skips(load_template())


def test_the_reports_of_both_tools_are_read() -> None:
    checkov = json.dumps(
        {
            "results": {
                "failed_checks": [
                    {"check_id": "CKV_AWS_95", "resource": "AWS::ApiGatewayV2::Stage.S"}
                ]
            }
        }
    )
    assert checkov_findings(checkov, "source") == [
        Finding("checkov", "CKV_AWS_95", "AWS::ApiGatewayV2::Stage.S", "source", "")
    ]
    assert checkov_findings("", "source") == []
    lint = json.dumps(
        [
            {
                "Rule": {"Id": "ES2000"},
                "Location": {"Path": ["Resources", "S", "Properties"]},
                "Message": "no log",
            },
            {"Rule": {"Id": "W1001"}, "Location": {"Path": ["Outputs", "X"]}, "Message": "m"},
        ]
    )
    found = cfn_lint_findings(lint, "built", {"S": "AWS::ApiGatewayV2::Stage"})
    assert [f.resource for f in found] == ["AWS::ApiGatewayV2::Stage.S", "Template."]
