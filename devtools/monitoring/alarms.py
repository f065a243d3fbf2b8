"""The alarms every function and every table gets, written into template.yaml.

One shape per kind (docs/operations.md has a runbook section for each): a function's errors
and its throttles, a code-sending function's p99 duration, a table's throttled requests. The
block between BEGIN and END in template.yaml is this module's output for the functions and
tables the template declares; `python -m devtools.monitoring alarms` writes it again after a
function or a table is added, and tests/unit/test_operations_template.py fails until it is.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.aws_resources import TEMPLATE, load_template

BEGIN = "  # -- BEGIN alarms per function and per table (python -m devtools.monitoring alarms) --"
END = "  # -- END alarms per function and per table --"
RUNBOOK = "docs/operations.md"

# The endpoints that send a code (SMS, call, WhatsApp or email): their p99 is what a person
# waits for before the code can arrive. The Telnyx (or SES) call is most of it.
CODE_SENDING = (
    "LoginFunction",
    "LoginResendFunction",
    "RegisterStartFunction",
    "RegisterResendFunction",
    "PasswordResetStartFunction",
    "PasswordResetResendFunction",
    "PaymentsInitiateFunction",
    "PaymentsResendFunction",
    "AccountPhoneStartFunction",
    "AccountPhoneResendFunction",
    "AccountReauthStartFunction",
    "AccountReauthResendFunction",
    "AccountEmailStartFunction",
    "LostPhoneStartFunction",
    "LostPhoneVerifyFunction",
)
# p99 above this for 3 periods of 5 minutes in a row: the provider (or DynamoDB) is slow. A
# warm send takes well under a second (docs/benchmarks.md); a cold start adds about one.
LATENCY_P99_MS = 3000
TOPIC = "[!If [HasAlarmTopic, !Ref AlarmTopicArn, !Ref AlarmTopic]]"


def functions(template: dict[str, Any]) -> list[str]:
    return sorted(
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    )


def tables(template: dict[str, Any]) -> list[str]:
    return sorted(
        name
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    )


def _alarm(name: str, description: str, body: list[str]) -> list[str]:
    return [
        f"  {name}:",
        "    Type: AWS::CloudWatch::Alarm",
        "    Properties:",
        "      AlarmDescription: >-",
        *(f"        {line}" for line in description.splitlines()),
        *(f"      {line}" for line in body),
        "      TreatMissingData: notBreaching",
        f"      AlarmActions: {TOPIC}",
        f"      OKActions: {TOPIC}",
        "",
    ]


def _lambda_metric(function: str, metric: str, statistic: str, period: int) -> list[str]:
    return [
        "Namespace: AWS/Lambda",
        f"MetricName: {metric}",
        f"Dimensions: [{{Name: FunctionName, Value: !Ref {function}}}]",
        statistic,
        f"Period: {period}",
    ]


def function_alarms(function: str) -> list[str]:
    errors = _alarm(
        f"{function}ErrorsAlarm",
        f"{function} failed (an unhandled error or a timeout, not a refused request) in 2\n"
        f"of the last 5 minutes. Runbook: {RUNBOOK}#function-errors",
        [
            *_lambda_metric(function, "Errors", "Statistic: Sum", 60),
            "EvaluationPeriods: 5",
            "DatapointsToAlarm: 2",
            "Threshold: 1",
            "ComparisonOperator: GreaterThanOrEqualToThreshold",
        ],
    )
    throttles = _alarm(
        f"{function}ThrottlesAlarm",
        f"{function} was throttled (its reserved concurrency or the account's limit) in 2\n"
        f"of the last 5 minutes: callers got 503. Runbook: {RUNBOOK}#function-throttles",
        [
            *_lambda_metric(function, "Throttles", "Statistic: Sum", 60),
            "EvaluationPeriods: 5",
            "DatapointsToAlarm: 2",
            "Threshold: 1",
            "ComparisonOperator: GreaterThanOrEqualToThreshold",
        ],
    )
    return errors + throttles


def latency_alarm(function: str) -> list[str]:
    return _alarm(
        f"{function}LatencyAlarm",
        f"{function}'s p99 duration stayed above {LATENCY_P99_MS} ms for 15 minutes: people\n"
        f"wait that long for a code. Runbook: {RUNBOOK}#code-sending-latency",
        [
            *_lambda_metric(function, "Duration", "ExtendedStatistic: p99", 300),
            "EvaluationPeriods: 3",
            f"Threshold: {LATENCY_P99_MS}",
            "ComparisonOperator: GreaterThanThreshold",
        ],
    )


def table_alarm(table: str) -> list[str]:
    def events(metric_id: str, metric: str) -> list[str]:
        return [
            f"- Id: {metric_id}",
            "  MetricStat:",
            "    Metric:",
            "      Namespace: AWS/DynamoDB",
            f"      MetricName: {metric}",
            f"      Dimensions: [{{Name: TableName, Value: !Ref {table}}}]",
            "    Period: 60",
            "    Stat: Sum",
            "  ReturnData: false",
        ]

    return _alarm(
        f"{table}ThrottlesAlarm",
        f"Requests to {table} were throttled in 2 of the last 5 minutes (a hot key or\n"
        f"partition; on-demand tables too). Runbook: {RUNBOOK}#dynamodb-throttles",
        [
            "Metrics:",
            *(f"  {line}" for line in events("reads", "ReadThrottleEvents")),
            *(f"  {line}" for line in events("writes", "WriteThrottleEvents")),
            "  - Id: throttled",
            f"    Label: Throttled requests to {table}",
            "    Expression: FILL(reads, 0) + FILL(writes, 0)",
            "    ReturnData: true",
            "EvaluationPeriods: 5",
            "DatapointsToAlarm: 2",
            "Threshold: 1",
            "ComparisonOperator: GreaterThanOrEqualToThreshold",
        ],
    )


def alarm_block(template: dict[str, Any]) -> str:
    """The generated block (BEGIN to END, both included) for `template`'s resources."""
    lines = [
        BEGIN,
        "  # Every function: its errors and its throttles; the code-sending ones: their p99;",
        "  # every table: its throttled requests. Not edited by hand: change the shapes in",
        "  # devtools/monitoring/alarms.py and run the command again.",
        "",
    ]
    for function in functions(template):
        lines += function_alarms(function)
    for function in CODE_SENDING:
        lines += latency_alarm(function)
    for table in tables(template):
        lines += table_alarm(table)
    return "\n".join([*lines, END])


def current_block(text: str) -> str | None:
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        return None
    return text[start : end + len(END)]


def write(path: Path = TEMPLATE) -> bool:
    """Writes the block into the template at `path` (before AlarmTopic the first time);
    True when it changed."""
    text = path.read_text(encoding="utf-8")
    template = load_template(path)
    block = alarm_block(template)
    current = current_block(text)
    if current == block:
        return False
    if current is not None:
        text = text.replace(current, block)
    else:
        anchor = "  # Where the alarms go when no AlarmTopicArn is given.\n"
        if anchor not in text:
            raise SystemExit(f"{path}: no place for the alarms (before AlarmTopic)")
        text = text.replace(anchor, block + "\n\n" + anchor, 1)
    path.write_text(text, encoding="utf-8")
    return True
