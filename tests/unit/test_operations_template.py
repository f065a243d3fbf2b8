"""What an operator meets on a bad night, as template.yaml deploys it (docs/operations.md):
every function has its errors and throttles alarm, every table its throttles alarm, every
alarm points to its runbook section, and the dashboard shows metrics the code really emits."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devtools.aws_resources import TEMPLATE, load_template
from devtools.monitoring import alarms
from devtools.monitoring.dashboard import GRID_WIDTH, NAMESPACE, SCREEN_HEIGHT, widgets
from phoneverify.adapters.dynamo.fraud_guard import METRIC_COUNTRY_HELD, METRIC_PREFIX_HELD
from phoneverify.adapters.event_log import CODE_COUNTERS, METRIC_CODES_BY
from phoneverify.adapters.fx_rates import METRIC_STALE, METRIC_UNUSABLE
from phoneverify.domain import email_limits, send_limits
from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.models import Channel, FlowKind
from phoneverify.domain.notices import METRIC_OLDEST_PENDING
from phoneverify.domain.tiers import SendTier
from tests.unit.test_template import TOPIC_IN_USE, resources_of

OPERATIONS = TEMPLATE.parent / "docs" / "operations.md"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def emitted_metrics() -> set[str]:
    """Every name the layer can put in the PhoneVerify namespace."""
    names = {f"Verification_{event.value}" for event in VerificationEventType}
    for counter in set(CODE_COUNTERS.values()):
        names |= {METRIC_CODES_BY.format(counter=counter, by="flow", value=k) for k in FlowKind}
        channels = [*(c.value for c in Channel), "email"]
        names |= {METRIC_CODES_BY.format(counter=counter, by="channel", value=c) for c in channels}
    send_layers = ["phone", "ip", "account", send_limits.GLOBAL, send_limits.CALL_PHONE]
    send_layers += [send_limits.CALL_BUDGET, send_limits.NOTICE_LAYER]
    names |= {send_limits.METRIC_REFUSED.format(layer=layer) for layer in send_layers}
    email_layers = [email_limits.EMAIL_ADDRESS, email_limits.EMAIL_IP, email_limits.EMAIL_BUDGET]
    names |= {email_limits.METRIC_EMAIL_REFUSED.format(layer=layer) for layer in email_layers}
    for tier in SendTier:
        names.add(send_limits.METRIC_TIER_ADMITTED.format(tier=tier.value))
        names.add(send_limits.METRIC_TIER_EXHAUSTED.format(tier=tier.value))
    return names | {
        send_limits.METRIC_ADMITTED,
        send_limits.METRIC_BUDGET_EXHAUSTED,
        email_limits.METRIC_EMAIL_ADMITTED,
        email_limits.METRIC_EMAIL_BUDGET_EXHAUSTED,
        email_limits.METRIC_EMAIL_SUPPRESSED,
        METRIC_PREFIX_HELD,
        METRIC_COUNTRY_HELD,
        METRIC_STALE,
        METRIC_UNUSABLE,
        METRIC_OLDEST_PENDING,
    }


def runbook_anchors() -> set[str]:
    """GitHub's anchors of docs/operations.md's headings."""
    headings = re.findall(r"^#+ (.+)$", OPERATIONS.read_text(encoding="utf-8"), re.M)
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-") for h in headings}


def test_every_function_has_its_errors_and_throttles_alarm(template: dict[str, Any]) -> None:
    found = resources_of(template, "AWS::CloudWatch::Alarm")
    functions = resources_of(template, "AWS::Serverless::Function")
    assert len(functions) > 30
    for function in functions:
        for metric in ("Errors", "Throttles"):
            alarm = found.get(f"{function}{metric}Alarm")
            assert alarm is not None, f"{function} has no {metric} alarm: run make alarms"
            props = alarm["Properties"]
            assert (props["Namespace"], props["MetricName"]) == ("AWS/Lambda", metric)
            assert props["Dimensions"] == [{"Name": "FunctionName", "Value": {"Ref": function}}]
            assert function in props["AlarmDescription"]  # the operator can tell which
            assert props["AlarmActions"] == TOPIC_IN_USE


def test_every_table_has_its_throttles_alarm(template: dict[str, Any]) -> None:
    found = resources_of(template, "AWS::CloudWatch::Alarm")
    for table in resources_of(template, "AWS::DynamoDB::Table"):
        alarm = found.get(f"{table}ThrottlesAlarm")
        assert alarm is not None, f"{table} has no throttles alarm"
        stats = [
            m["MetricStat"]["Metric"] for m in alarm["Properties"]["Metrics"] if "MetricStat" in m
        ]
        assert {s["MetricName"] for s in stats} == {"ReadThrottleEvents", "WriteThrottleEvents"}
        assert all(
            s["Dimensions"] == [{"Name": "TableName", "Value": {"Ref": table}}] for s in stats
        )


def test_the_code_sending_functions_have_a_p99_alarm(template: dict[str, Any]) -> None:
    functions = resources_of(template, "AWS::Serverless::Function")
    for function in alarms.CODE_SENDING:
        assert function in functions
        props = template["Resources"][f"{function}LatencyAlarm"]["Properties"]
        assert (props["MetricName"], props["ExtendedStatistic"]) == ("Duration", "p99")


def test_the_generated_alarms_are_up_to_date(template: dict[str, Any]) -> None:
    # A function or table added since the block was written fails here, not in production.
    written = alarms.current_block(TEMPLATE.read_text(encoding="utf-8"))
    assert written == alarms.alarm_block(template), "run: python -m devtools.monitoring alarms"


def test_writing_the_alarms_into_a_template_without_them_adds_every_one(tmp_path: Path) -> None:
    text = TEMPLATE.read_text(encoding="utf-8")
    block = alarms.current_block(text)
    assert block is not None
    copy = tmp_path / "template.yaml"
    copy.write_text(text.replace(block + "\n\n", ""), encoding="utf-8")
    assert alarms.write(copy) is True
    assert copy.read_text(encoding="utf-8") == text
    assert alarms.write(copy) is False


def test_every_alarm_points_to_its_runbook_section(template: dict[str, Any]) -> None:
    anchors = runbook_anchors()
    for name, alarm in resources_of(template, "AWS::CloudWatch::Alarm").items():
        description = alarm["Properties"]["AlarmDescription"]
        assert len(description) <= 1024, name
        link = re.search(r"Runbook: docs/operations\.md#([a-z0-9-]+)", description)
        assert link is not None, f"{name}: no runbook link"
        assert link.group(1) in anchors, f"{name}: no section #{link.group(1)}"


def test_the_dashboard_shows_only_metrics_the_code_emits() -> None:
    emitted = emitted_metrics()
    shown = [s.name for w in widgets() for s in w.series if s.namespace == NAMESPACE and s.name]
    assert len(shown) > 40
    assert sorted(set(shown) - emitted) == []
    assert {"CodesSent_flow_login", "Verification_webhook_signature_rejected"} <= set(shown)


def test_the_dashboard_covers_what_an_operator_asks_for(template: dict[str, Any]) -> None:
    titles = " | ".join(w.title for w in widgets()).lower()
    for topic in (
        "sent per flow",
        "verified per flow",
        "per channel",
        "conversion",
        "refusals",
        "budget",
        "p50",
        "p99",
        "4xx",
        "5xx",
        "dynamodb",
        "webhook",
    ):
        assert topic in titles, topic
    throttled = next(w for w in widgets() if "DynamoDB" in w.title)
    tables = {s.dimensions.get("TableName") for s in throttled.series}
    assert set(resources_of(template, "AWS::DynamoDB::Table")) <= tables


def test_the_dashboard_fits_one_screen_without_overlaps() -> None:
    cells: set[tuple[int, int]] = set()
    for w in widgets():
        assert w.x + w.width <= GRID_WIDTH and w.y + w.height <= SCREEN_HEIGHT, w.title
        mine = {(x, y) for x in range(w.x, w.x + w.width) for y in range(w.y, w.y + w.height)}
        assert not cells & mine, w.title
        cells |= mine
