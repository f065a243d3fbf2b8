"""The decoy reset's timing side by side with a real one's (benchmarks/decoy_timing.py): the
full run (`make bench`) writes medians and the gap to docs/benchmarks.md; the quick one
(`make test`) only checks it runs and answers as it should. Never asserts on time."""

from __future__ import annotations

import pytest

from benchmarks.decoy_timing import FULL, QUICK, STEPS, DecoyTiming, run_decoy_timing
from benchmarks.report import Report
from devtools.local_stack.stack import LocalStack


@pytest.fixture(scope="session")
def decoy_timing(quick: bool, report: Report, bench_stack: LocalStack) -> DecoyTiming:
    result = run_decoy_timing(bench_stack, QUICK if quick else FULL)
    report.decoy_timing = result
    return result


def test_both_kinds_were_measured_and_answered_alike(decoy_timing: DecoyTiming) -> None:
    start, verify = STEPS
    assert decoy_timing.statuses[start] == {"real": {200}, "decoy": {200}}
    assert decoy_timing.statuses[verify] == {"real": {401}, "decoy": {401}}
    for step in STEPS:
        for kind in ("real", "decoy"):
            assert len(decoy_timing.samples[step][kind]) == decoy_timing.plan.rounds
