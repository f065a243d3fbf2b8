"""The dashboard's picture (make dashboard-picture, docs/operations.md): every widget of the
template's dashboard evaluated from a local run's metrics and drawn, here into a tmp dir from
a small recorded run (the tracked picture is written by the make target only)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from devtools.monitoring.dashboard import widgets
from devtools.monitoring.local_run import Collected
from devtools.monitoring.picture import BUCKETS, draw, evaluate

PICTURE = Path(__file__).resolve().parents[2] / "docs" / "operations-dashboard.png"
EMF = (
    '{"_aws": {"Timestamp": %d, "CloudWatchMetrics": [{"Namespace": "PhoneVerify", '
    '"Dimensions": [["service"]], "Metrics": [{"Name": "%s", "Unit": "Count"}]}]}, '
    '"service": "phone-verify", "%s": [1.0]}'
)


def recorded_run() -> dict[str, Any]:
    """What the functions print during a run, fed through the collector as the tee does."""
    run = Collected(clock=lambda: 1_800_000_090.0, started=1_800_000_000.0)
    at = 1_800_000_000_000
    for n, name in enumerate(
        ["Verification_sent", "CodesSent_flow_login", "Verification_sent", "CodesSent_flow_login",
         "Verification_accepted", "CodesVerified_flow_login",
         "Verification_webhook_signature_rejected"]
    ):  # fmt: skip
        run.function_line("LoginFunction", EMF % (at + n * 10_000, name, name))
    run.function_line("LoginFunction", "START RequestId: 1 Version: $LATEST")
    run.function_line(
        "LoginFunction", "REPORT RequestId: 1\tDuration: 812.50 ms\tMemory Size: 512 MB"
    )
    run.function_line("LoginFunction", '{"level": "INFO", "message": "not a metric"}')
    return {"duration": 120.0, "points": run.points}


def widget(title: str) -> Any:
    return next(w for w in widgets() if w.title.startswith(title))


def test_the_collector_reads_emf_lines_and_report_durations() -> None:
    points = recorded_run()["points"]
    names = [p["name"] for p in points]
    assert names.count("Verification_sent") == 2
    duration = next(p for p in points if p["name"] == "Duration")
    assert duration["dims"] == {"FunctionName": "phone-verify-LoginFunction"}
    assert duration["value"] == 812.5
    assert all(p["dims"] == {"service": "phone-verify"} for p in points if p["name"] != "Duration")


def test_widgets_evaluate_metrics_expressions_and_searches() -> None:
    run = recorded_run()
    # Conversion is hourly: running totals, so the last value is 1 verified of 2 sent.
    conversion = {label: v for _, label, v in evaluate(widget("Conversion"), run)}
    assert math.isclose(conversion["all codes"][-1], 50.0)
    assert len(conversion["all codes"]) == BUCKETS
    # A SORT(SEARCH(...)) over the stack's functions: one line per function found.
    p99 = evaluate(widget("Duration p99"), run)
    assert [(label, max(v[~(v != v)])) for _, label, v in p99] == [("LoginFunction", 812.5)]
    sent = {label: v for _, label, v in evaluate(widget("Codes sent per flow"), run)}
    assert sum(x for x in sent["login"] if x == x) == 2


def test_the_picture_is_drawn_into_the_place_it_is_given(tmp_path: Path) -> None:
    out = draw(recorded_run(), tmp_path / "dashboard.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert out.stat().st_size > 20_000


def test_the_tracked_picture_exists() -> None:
    # docs/operations.md shows it; only `make dashboard-picture` rewrites it.
    assert PICTURE.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
