"""The soak's quick slice (make soak runs the full one): a few hundred requests of mixed
journeys with every fault kind injected, then every invariant, on its own DynamoDB Local."""

from __future__ import annotations

import os
from pathlib import Path

from devtools.soak.__main__ import render
from devtools.soak.run import SoakConfig, run


def test_mixed_journeys_under_faults_break_no_invariant_and_answer_no_500(tmp_path: Path) -> None:
    seed = int(os.environ.get("SOAK_SEED", "27"))
    # Higher shares than the full run's, so that a few hundred requests meet every fault kind.
    cfg = SoakConfig(
        seed=seed,
        people=20,
        concurrency=6,
        expected_requests=200,
        telnyx_share=0.06,
        webhook_share=0.15,
        kill_share=0.04,
        throttle_share=0.03,
        error_share=0.02,
        error_after_share=0.01,  # a write made, its answer lost: the SDK retries it
        outage_secs=2.0,
    )
    report = run(cfg)
    (tmp_path / "functions.log").write_text("\n".join(report.log_lines))
    print(render(report), f"\nthe functions' log: {tmp_path / 'functions.log'}")
    assert report.requests >= 150, render(report)  # about 12 a journey
    assert report.violations == 0, render(report)
    assert report.five_hundreds == [], render(report)
    kinds = {kind.split(" ")[0] for kind in report.faults}
    assert {"telnyx", "webhook", "dynamodb", "kill"} <= kinds, render(report)
    assert report.faults["dynamodb error_after"] > 0, render(report)
